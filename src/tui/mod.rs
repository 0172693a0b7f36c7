//! The console: app loop, tabs, popups, theme and keymap.

mod app;
pub mod format;
pub mod keymap;
pub mod palette;
pub mod pool_keys;
pub mod secret_input;
pub mod state;
mod terminal;
pub mod theme;
pub mod update;
pub mod view;

pub use app::run;
