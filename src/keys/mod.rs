//! Operator keys: Ethereum V3 keystores (scrypt), passphrase sources, OS keyring cache.
