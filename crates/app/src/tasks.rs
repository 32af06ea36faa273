//! Tasks that outlive the request that started them (the domain's [`TaskRunner`]): an
//! audit event is written on a tokio task of its own, so a client that disconnects after
//! its change was committed cannot abort the event's write (ADR 0056).

use keyward_domain::ports::{DetachedTask, TaskRunner};

/// Spawns each task on the current tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTasks;

impl TaskRunner for TokioTasks {
    fn run_detached(&self, task: DetachedTask) -> DetachedTask {
        let handle = tokio::spawn(task);
        Box::pin(async move {
            if let Err(error) = handle.await {
                // Only a panic in the task gets here (it is never aborted).
                tracing::error!(%error, "a detached task failed");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_task_completes_after_its_caller_stopped_waiting() {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let waiting = TokioTasks.run_detached(Box::pin(async move {
            let _ = released.await;
            let _ = done.send(());
        }));

        drop(waiting);
        release.send(()).unwrap();

        // A dropped task would drop `done` and this would be an error.
        assert!(
            finished.await.is_ok(),
            "the task was dropped with its caller"
        );
    }

    #[tokio::test]
    async fn awaiting_the_task_waits_for_it() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);

        TokioTasks
            .run_detached(Box::pin(async move {
                tokio::task::yield_now().await;
                flag.store(true, Ordering::SeqCst);
            }))
            .await;

        assert!(finished.load(Ordering::SeqCst));
    }
}
