//! The process's long-lived tasks (the sync loop, the outbox, the scheduler, the HTTP server)
//! under one supervisor. A task that ends while no stop was asked for — by returning, by an error
//! or by a panic — stops the others and ends the process with an error naming it, so that the
//! service manager restarts it: a bot whose outbox died must not go on reading commands it can
//! no longer answer.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, warn};

use crate::BotError;

/// How long the tasks have to end after a stop before they are aborted.
pub const GRACE: Duration = Duration::from_secs(30);

pub struct Supervisor {
    tasks: JoinSet<(&'static str, Result<(), BotError>)>,
    stop: watch::Sender<bool>,
}

impl Supervisor {
    /// `stop` is the signal every task watches: the supervisor sends it when one task ends.
    pub fn new(stop: watch::Sender<bool>) -> Supervisor {
        Supervisor { tasks: JoinSet::new(), stop }
    }

    /// Runs `task` under the supervisor as `name` (used in the log and the error).
    pub fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), BotError>> + Send + 'static,
    {
        self.tasks.spawn(async move {
            let ended = match AssertUnwindSafe(task).catch_unwind().await {
                Ok(ended) => ended,
                Err(panic) => Err(BotError::TaskEnded { task: name, why: panic_message(&*panic) }),
            };
            (name, ended)
        });
    }

    /// Waits until every task has ended. The first task to end while no stop was asked for
    /// stops the others; its error (or "ended by itself") is the result. After a stop, tasks
    /// still running after [`GRACE`] are aborted.
    pub async fn wait(self) -> Result<(), BotError> {
        self.wait_within(GRACE).await
    }

    async fn wait_within(mut self, grace: Duration) -> Result<(), BotError> {
        let mut result = Ok(());
        loop {
            let joined = if *self.stop.borrow() {
                match tokio::time::timeout(grace, self.tasks.join_next()).await {
                    Ok(joined) => joined,
                    Err(_) => {
                        warn!(
                            tasks = self.tasks.len(),
                            "tasks still running after the grace period: aborted"
                        );
                        self.tasks.shutdown().await;
                        break;
                    }
                }
            } else {
                self.tasks.join_next().await
            };
            let Some(joined) = joined else { break };
            let (name, ended) = match joined {
                Ok(done) => done,
                // Only an abort cancels a task, and only `shutdown` above aborts.
                Err(e) => {
                    ("unknown", Err(BotError::TaskEnded { task: "unknown", why: e.to_string() }))
                }
            };
            let stopping = *self.stop.borrow();
            let ended: Result<(), BotError> = match ended {
                Ok(()) if stopping => continue,
                Ok(()) => Err(BotError::TaskEnded { task: name, why: "ended by itself".into() }),
                Err(e) => Err(e),
            };
            if let Err(e) = ended {
                error!(task = name, error = %e, "task ended: stopping the bot");
                if result.is_ok() {
                    result = Err(e);
                }
                let _ = self.stop.send(true);
            }
        }
        result
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panicked: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that runs until the stop signal, then ends cleanly.
    async fn until_stopped(
        mut stop: watch::Receiver<bool>,
        ended: watch::Sender<bool>,
    ) -> Result<(), BotError> {
        let _ = stop.wait_for(|s| *s).await;
        let _ = ended.send(true);
        Ok(())
    }

    #[tokio::test]
    async fn a_panicking_task_stops_the_others_and_is_named() {
        let (stop, watch_stop) = watch::channel(false);
        let (other_ended, other) = watch::channel(false);
        let mut sup = Supervisor::new(stop);
        sup.spawn("worker", until_stopped(watch_stop.clone(), other_ended));
        sup.spawn("outbox", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            panic!("the outbox broke");
        });
        let err = sup.wait().await.unwrap_err();
        match err {
            BotError::TaskEnded { task, why } => {
                assert_eq!(task, "outbox");
                assert!(why.contains("the outbox broke"), "{why}");
            }
            e => panic!("unexpected error {e}"),
        }
        assert!(*other.borrow(), "the other task was not stopped");
        assert!(*watch_stop.borrow());
    }

    #[tokio::test]
    async fn a_task_that_returns_by_itself_is_an_error() {
        let (stop, watch_stop) = watch::channel(false);
        let (other_ended, other) = watch::channel(false);
        let mut sup = Supervisor::new(stop);
        sup.spawn("worker", until_stopped(watch_stop, other_ended));
        sup.spawn("scheduler", async { Ok(()) });
        let err = sup.wait().await.unwrap_err();
        assert!(matches!(err, BotError::TaskEnded { task: "scheduler", .. }), "{err}");
        assert!(*other.borrow());
    }

    #[tokio::test]
    async fn a_task_error_is_returned_as_it_is() {
        let (stop, watch_stop) = watch::channel(false);
        let (other_ended, _other) = watch::channel(false);
        let mut sup = Supervisor::new(stop);
        sup.spawn("worker", until_stopped(watch_stop, other_ended));
        sup.spawn("sync", async { Err(BotError::Rejected("M_UNKNOWN_TOKEN".into())) });
        let err = sup.wait().await.unwrap_err();
        assert_eq!(err.exit_code(), crate::EXIT_REJECTED, "{err}");
    }

    #[tokio::test]
    async fn a_requested_stop_ends_cleanly() {
        let (stop, watch_stop) = watch::channel(false);
        let (a_ended, a) = watch::channel(false);
        let (b_ended, b) = watch::channel(false);
        let mut sup = Supervisor::new(stop.clone());
        sup.spawn("a", until_stopped(watch_stop.clone(), a_ended));
        sup.spawn("b", until_stopped(watch_stop, b_ended));
        let _ = stop.send(true);
        sup.wait().await.unwrap();
        assert!(*a.borrow() && *b.borrow());
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_stop_is_aborted_after_the_grace_period() {
        let (stop, _watch_stop) = watch::channel(false);
        let mut sup = Supervisor::new(stop.clone());
        sup.spawn("stubborn", std::future::pending());
        let _ = stop.send(true);
        let grace = Duration::from_millis(100);
        let started = std::time::Instant::now();
        sup.wait_within(grace).await.unwrap();
        assert!(started.elapsed() >= grace);
    }
}
