// The logic behind scripts/compile-contracts (run that, not this file). See --help.
//
// Compiles every contracts/**/*.sol (out/ excluded) in one solc standard-JSON run with the
// pinned solc-js from .tools/, and writes one contracts/out/<ContractName>.json per contract.
// The output is byte-for-byte deterministic (pinned compiler, optimizer and evmVersion, no
// metadata hash in the bytecode, fixed JSON layout), so `--check` can compare it with the
// committed files.

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = process.env.HEDGEDESK_TOOLS_DIR
    ? path.resolve(process.env.HEDGEDESK_TOOLS_DIR)
    : path.join(ROOT, '.tools');
const ME = 'compile-contracts';

// Every compiler setting that reaches the bytecode. Changing one changes every artifact
// (run the script and commit contracts/out/ with the change).
const SETTINGS = {
    optimizer: { enabled: true, runs: 200 },
    // Cancun runs on anvil's default hardfork and on Base (PUSH0, MCOPY, transient storage).
    evmVersion: 'cancun',
    // No IPFS/Swarm hash of the metadata in the bytecode: it would change with comments,
    // paths and whitespace. The CBOR tail keeps only the solc version.
    metadata: { bytecodeHash: 'none' },
    outputSelection: {
        '*': {
            '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences', 'evm.deployedBytecode.object'],
        },
    },
};

// Every source is named `contracts/<path below the contracts dir>` in the compiler input and
// in the artifacts, whichever directory --dir points at, so a copy compiles to the same bytes.
const UNIT_PREFIX = 'contracts/';

const HELP = `Usage: scripts/compile-contracts [--check] [--dir DIR]

Compiles every contracts/**/*.sol (contracts/out/ excluded) with the pinned solc-js in
.tools/ (installed by scripts/bootstrap) through its standard-JSON API: optimizer on
(200 runs), evmVersion cancun, no metadata hash. Writes one contracts/out/<Contract>.json
per contract, interface and library:
  {"contractName", "sourceName", "compiler", "abi", "bytecode", "deployedBytecode"}
and removes artifacts of contracts that no longer exist. Writing is skipped for files
whose content did not change.

Options:
  --check     compile in memory and compare with contracts/out/; print every stale,
              missing or extra artifact and exit 1, or print
              "contracts/out is up to date" and exit 0. Writes nothing.
  --dir DIR   use DIR/ and DIR/out/ instead of contracts/ and contracts/out/.
  -h, --help  this text.

Compile errors are printed as file:line:column and exit 1. Warnings are printed and do
not fail the build. Environment: HEDGEDESK_TOOLS_DIR overrides <repo>/.tools.`;

function fail(message, code = 1) {
    process.stderr.write(`${ME}: ${message}\n`);
    process.exit(code);
}

function parseArgs(argv) {
    const options = { check: false, dir: path.join(ROOT, 'contracts') };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '-h' || arg === '--help') {
            process.stdout.write(`${HELP}\n`);
            process.exit(0);
        } else if (arg === '--check') {
            options.check = true;
        } else if (arg === '--dir') {
            if (i + 1 >= argv.length) fail('--dir needs a directory', 2);
            options.dir = path.resolve(argv[++i]);
        } else if (arg.startsWith('--dir=')) {
            options.dir = path.resolve(arg.slice('--dir='.length));
        } else {
            fail(`unknown argument: ${arg} (see --help)`, 2);
        }
    }
    return options;
}

/** How a path is shown to the user: relative to the repo when it is inside it. */
function display(p) {
    const rel = path.relative(ROOT, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The pinned solc-js, or a clear error pointing at scripts/bootstrap. */
function loadSolc() {
    const solcDir = path.join(TOOLS, 'node_modules', 'solc');
    if (!fs.existsSync(path.join(solcDir, 'soljson.js'))) {
        fail(`solc-js is not installed in ${display(TOOLS)}/ (no ${display(solcDir)}/soljson.js): run scripts/bootstrap`);
    }
    const require = createRequire(import.meta.url);
    let solc;
    try {
        solc = require(solcDir);
    } catch (e) {
        fail(`could not load solc-js from ${display(solcDir)}: ${e.message}\nrun scripts/bootstrap --force`);
    }
    const pinned = pinnedSolcVersion();
    const version = solc.version();
    if (pinned && !version.startsWith(`${pinned}+`)) {
        fail(`${display(solcDir)} is solc ${version}, but scripts/tools/package.json pins ${pinned}: run scripts/bootstrap`);
    }
    return solc;
}

function pinnedSolcVersion() {
    try {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'tools', 'package.json'), 'utf8'));
        return pkg.dependencies?.solc ?? null;
    } catch {
        return null;
    }
}

/** Every .sol below `dir` (out/, dot directories and node_modules skipped), sorted, as
 *  paths relative to `dir` with forward slashes. */
function findSources(dir) {
    const found = [];
    const walk = (sub) => {
        const entries = fs.readdirSync(path.join(dir, sub), { withFileTypes: true });
        for (const entry of entries) {
            const rel = sub ? `${sub}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (rel === 'out' || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
                walk(rel);
            } else if (entry.isFile() && entry.name.endsWith('.sol')) {
                found.push(rel);
            }
        }
    };
    walk('');
    return found.sort();
}

/** Compiles and returns the artifacts as Map(fileName -> exact file content), sorted by name. */
function compile(solc, dir) {
    const files = findSources(dir);
    if (files.length === 0) fail(`no .sol files in ${display(dir)}/`);
    const sources = {};
    for (const rel of files) {
        sources[UNIT_PREFIX + rel] = { content: fs.readFileSync(path.join(dir, rel), 'utf8') };
    }
    const input = { language: 'Solidity', sources, settings: SETTINGS };
    // Every source under the dir is already in the input, so an import the compiler still
    // asks for is outside it (a package, a typo): say so instead of reading the disk.
    const findImports = (unit) => ({
        error: `import "${unit}" is not a file under ${display(dir)}/ (imports must be relative paths to our own sources; nothing is fetched)`,
    });
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

    const shown = (message) =>
        // Show the real location when --dir points elsewhere than contracts/.
        message.replaceAll(`--> ${UNIT_PREFIX}`, `--> ${display(dir)}/`);
    const problems = output.errors ?? [];
    const errors = problems.filter((p) => p.severity === 'error');
    for (const p of problems.filter((p) => p.severity !== 'error')) {
        process.stderr.write(shown(p.formattedMessage ?? p.message).trimEnd() + '\n');
    }
    if (errors.length > 0) {
        for (const p of errors) process.stderr.write(shown(p.formattedMessage ?? p.message).trimEnd() + '\n');
        fail(`compilation failed with ${errors.length} error(s)`);
    }

    const compiler = `solc-${solc.version()}`;
    const artifacts = new Map();
    const origin = new Map();
    for (const unit of Object.keys(output.contracts ?? {}).sort()) {
        for (const name of Object.keys(output.contracts[unit]).sort()) {
            const contract = output.contracts[unit][name];
            if (origin.has(name)) {
                fail(`contract ${name} is defined in both ${origin.get(name)} and ${unit}; artifacts are named by contract, so rename one`);
            }
            origin.set(name, unit);
            const links = Object.keys(contract.evm.bytecode.linkReferences ?? {});
            if (links.length > 0) {
                fail(`${name} (${unit}) needs linking against external libraries (${links.join(', ')}); linking is not supported: make the library functions internal`);
            }
            const artifact = {
                contractName: name,
                sourceName: unit,
                compiler,
                abi: contract.abi,
                bytecode: `0x${contract.evm.bytecode.object}`,
                deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
            };
            artifacts.set(`${name}.json`, `${JSON.stringify(artifact, null, 2)}\n`);
        }
    }
    return artifacts;
}

function existingArtifacts(outDir) {
    if (!fs.existsSync(outDir)) return [];
    return fs
        .readdirSync(outDir, { withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.json'))
        .map((e) => e.name)
        .sort();
}

function check(artifacts, outDir) {
    const existing = new Set(existingArtifacts(outDir));
    const problems = [];
    for (const [file, content] of artifacts) {
        const shownPath = display(path.join(outDir, file));
        const name = file.replace(/\.json$/, '');
        if (!existing.has(file)) {
            problems.push(`missing: ${name} (${shownPath} does not exist)`);
        } else if (fs.readFileSync(path.join(outDir, file), 'utf8') !== content) {
            problems.push(`stale: ${name} (${shownPath} differs from what the sources compile to)`);
        }
    }
    for (const file of existing) {
        if (!artifacts.has(file)) {
            problems.push(`extra: ${file.replace(/\.json$/, '')} (${display(path.join(outDir, file))} has no contract in the sources)`);
        }
    }
    if (problems.length > 0) {
        for (const line of problems) process.stderr.write(`${line}\n`);
        const dirFlag = outDir === path.join(ROOT, 'contracts', 'out') ? '' : ` --dir ${display(path.dirname(outDir))}`;
        fail(`${display(outDir)} is out of date (${problems.length} artifact(s)): run scripts/compile-contracts${dirFlag} and commit the result`);
    }
    process.stdout.write(`${display(outDir)} is up to date (${artifacts.size} artifact(s))\n`);
}

function write(artifacts, outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    let wrote = 0;
    for (const [file, content] of artifacts) {
        const target = path.join(outDir, file);
        if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === content) continue;
        fs.writeFileSync(target, content);
        process.stdout.write(`wrote ${display(target)}\n`);
        wrote++;
    }
    let removed = 0;
    for (const file of existingArtifacts(outDir)) {
        if (!artifacts.has(file)) {
            fs.unlinkSync(path.join(outDir, file));
            process.stdout.write(`removed ${display(path.join(outDir, file))}\n`);
            removed++;
        }
    }
    const unchanged = artifacts.size - wrote;
    process.stdout.write(`${display(outDir)}: ${wrote} written, ${unchanged} unchanged, ${removed} removed\n`);
}

const options = parseArgs(process.argv.slice(2));
if (!fs.existsSync(options.dir) || !fs.statSync(options.dir).isDirectory()) {
    fail(`${display(options.dir)} is not a directory`);
}
const solc = loadSolc();
const artifacts = compile(solc, options.dir);
const outDir = path.join(options.dir, 'out');
if (options.check) check(artifacts, outDir);
else write(artifacts, outDir);
