//! The real binary in a real terminal: a tmux server of its own per test, a session
//! running one command, keys sent and the screen read back.

use std::process::Command;
use std::time::Duration;

use super::{Desk, bin};

pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Whether the terminal tests can run: tmux is required under CI (bootstrap installs
    /// it); elsewhere its absence skips them, saying so.
    pub fn required() -> bool {
        if Tmux::available() {
            return true;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required under CI: run scripts/bootstrap"
        );
        eprintln!("tmux not installed: skipping the terminal test");
        false
    }

    pub fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The console on `desk`'s config and data dir.
    pub fn start(name: &str, desk: &Desk) -> Tmux {
        // The API listens on a free port: these consoles run side by side.
        Tmux::run(
            name,
            &format!(
                "env -u HEDGEDESK_PASSPHRASE HEDGEDESK_API__LISTEN=127.0.0.1:0 {} --config {} --data-dir {}",
                bin(),
                desk.config.display(),
                desk.data.display()
            ),
        )
    }

    /// `command` in a 140x40 terminal. `exec` makes the pane's process the command itself,
    /// so its pid can be killed.
    pub fn run(name: &str, command: &str) -> Tmux {
        let t = Tmux {
            socket: format!("hd-{}-{name}", std::process::id()),
            session: name.to_string(),
        };
        let cmd = format!("exec env TERM=xterm-256color {command}");
        let ok = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            "140",
            "-y",
            "40",
            &cmd,
        ]);
        assert!(ok, "tmux new-session");
        t
    }

    pub fn tmux(&self, args: &[&str]) -> bool {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-t",
                &self.session,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args));
    }

    pub fn literal(&self, text: &str) {
        assert!(self.tmux(&["send-keys", "-t", &self.session, "-l", text]));
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_for_within(text, Duration::from_secs(30));
    }

    pub fn wait_for_within(&self, text: &str, within: Duration) {
        let mut last = String::new();
        let tries = within.as_millis() / 100;
        let found = (0..tries).any(|_| {
            last = self.screen();
            if last.contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
            false
        });
        assert!(found, "screen never showed {text:?}; last screen:\n{last}");
    }

    pub fn pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "list-panes",
                "-t",
                &self.session,
                "-F",
                "#{pane_pid}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    pub fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", &self.session])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
