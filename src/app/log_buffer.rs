//! A bounded in-memory copy of recent log events, fed by a tracing layer, read by
//! the Logs tab.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Unix milliseconds.
    pub at: i64,
    pub level: Level,
    pub target: String,
    pub message: String,
}

pub struct LogBuffer {
    lines: Mutex<VecDeque<LogLine>>,
    capacity: usize,
    version: watch::Sender<u64>,
}

impl LogBuffer {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(LogBuffer {
            lines: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity: capacity.max(1),
            version: watch::channel(0).0,
        })
    }

    pub fn push(&self, line: LogLine) {
        {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            if lines.len() == self.capacity {
                lines.pop_front();
            }
            lines.push_back(line);
        }
        self.version.send_modify(|v| *v += 1);
    }

    pub fn len(&self) -> usize {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `count` lines ending `from_end` lines before the newest; the Logs tab
    /// asks only for what fits on screen.
    pub fn window(&self, from_end: usize, count: usize) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let end = lines.len().saturating_sub(from_end);
        let start = end.saturating_sub(count);
        lines.range(start..end).cloned().collect()
    }

    /// Changes whenever a line arrives.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    pub fn layer(self: &Arc<Self>) -> LogBufferLayer {
        LogBufferLayer {
            buffer: Arc::clone(self),
        }
    }
}

pub struct LogBufferLayer {
    buffer: Arc<LogBuffer>,
}

impl<S: Subscriber> Layer<S> for LogBufferLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let meta = event.metadata();
        self.buffer.push(LogLine {
            at: chrono::Utc::now().timestamp_millis(),
            level: *meta.level(),
            target: meta.target().to_string(),
            message: visitor.finish(),
        });
    }
}

#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl LineVisitor {
    fn finish(mut self) -> String {
        if !self.fields.is_empty() {
            if !self.message.is_empty() {
                self.message.push(' ');
            }
            self.message.push_str(self.fields.trim_start());
        }
        self.message
    }
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn keeps_the_newest_lines_and_windows_from_the_end() {
        let buf = LogBuffer::new(3);
        let subscriber = tracing_subscriber::registry().with(buf.layer());
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                tracing::info!(n = i, "line");
            }
        });
        assert_eq!(buf.len(), 3);
        let all = buf.window(0, 10);
        assert_eq!(
            all.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["line n=2", "line n=3", "line n=4"]
        );
        assert_eq!(buf.window(1, 1)[0].message, "line n=3");
        assert_eq!(*buf.subscribe().borrow(), 5);
    }
}
