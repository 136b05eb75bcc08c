//! The thread SQLite writes run on, kept on one CPU together with the threads of the
//! connections they write through.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement is a hand-off
//! from the task that issues it to that thread and back. A write transaction is a chain of
//! such hand-offs, and writes queue behind each other, so the chain's length is what bounds
//! write throughput. When the two threads sit on different CPUs, each hand-off wakes an idle
//! CPU (on a virtual machine, a trip through the hypervisor) — measured here at ~50 µs, far
//! more than the statement. On one CPU a hand-off is a context switch. So writes run on a
//! single-threaded runtime on a dedicated thread pinned to one CPU, and the writer pool's
//! connections are opened from it: a thread inherits its creator's CPU affinity, so their
//! threads are pinned to the same CPU, and the writing calls' own reads go through them
//! too. Every other call, and the runtime's blocking threads, keep every CPU.

use std::cell::Cell;
use std::future::Future;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

thread_local! {
    static ON_WRITER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on a writer thread, whose reads should go through connections
/// pinned beside it too.
pub fn on_writer_thread() -> bool {
    ON_WRITER_THREAD.get()
}

/// A single-threaded runtime on its own thread, stopped when this is dropped.
pub struct WriterThread {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl WriterThread {
    /// Starts the thread, pinned to one CPU of those the process may use (the last; none
    /// when it may use only one).
    pub async fn start() -> std::io::Result<WriterThread> {
        let (started, handle) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("stint-writer".into())
            .spawn(move || {
                let everywhere = allowed_cpus();
                let cpu = pin_to_one_cpu();
                ON_WRITER_THREAD.set(true);
                let runtime = Builder::new_current_thread()
                    .enable_all()
                    // Its blocking threads (password hashing) are started from here and
                    // would inherit the pin: they get every CPU back.
                    .on_thread_start(move || {
                        allow_cpus(&everywhere);
                    })
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                tracing::debug!(?cpu, "SQLite writer thread started");
                let _ = started.send(Ok(runtime.handle().clone()));
                // Runs the spawned writes until the store is dropped.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let handle = handle
            .await
            .map_err(|_| std::io::Error::other("the writer thread ended as it started"))??;
        Ok(WriterThread {
            handle,
            _stop: stop,
        })
    }

    /// The runtime, to spawn writes on.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `work` on the writer thread and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> std::io::Result<T> {
        self.handle.spawn(work).await.map_err(|e| {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            std::io::Error::other("the writer thread stopped")
        })
    }
}

/// Pins the calling thread to the last CPU it may run on; returns that CPU, or `None` when
/// there is no choice to make (one CPU) or pinning is refused.
fn pin_to_one_cpu() -> Option<usize> {
    let cpus = allowed_cpus();
    let &cpu = cpus.last().filter(|_| cpus.len() > 1)?;
    allow_cpus(&[cpu]).then_some(cpu)
}

/// Lets the calling thread run on `cpus`; whether that was done.
#[cfg(target_os = "linux")]
fn allow_cpus(cpus: &[usize]) -> bool {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    !cpus.is_empty()
        && cpus.iter().all(|&cpu| set.set(cpu).is_ok())
        && sched_setaffinity(Pid::from_raw(0), &set).is_ok()
}

/// The CPUs the calling thread may run on.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    let Ok(allowed) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn allow_cpus(_: &[usize]) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_run_on_one_cpu_and_threads_they_start_stay_on_it() {
        let everywhere = allowed_cpus();
        let writer = WriterThread::start().await.unwrap();
        let (on_writer, pinned) = writer
            .run(async { (on_writer_thread(), allowed_cpus()) })
            .await
            .unwrap();
        assert!(on_writer);
        assert!(!on_writer_thread(), "only the writer thread says it is one");
        if everywhere.len() > 1 {
            assert_eq!(pinned, vec![*everywhere.last().unwrap()]);
        } else {
            assert_eq!(pinned, everywhere);
        }
        // As sqlx's connection threads do when the writer pool opens them from there.
        let started_there = writer
            .run(async { std::thread::spawn(allowed_cpus).join().unwrap() })
            .await
            .unwrap();
        assert_eq!(started_there, pinned);
        // Blocking work (password hashing) spawned from there is not held to its CPU.
        let blocking = writer
            .run(async { tokio::task::spawn_blocking(allowed_cpus).await.unwrap() })
            .await
            .unwrap();
        assert_eq!(blocking, everywhere);
    }

    #[tokio::test]
    async fn a_panic_on_the_writer_thread_reaches_the_caller_and_the_thread_goes_on() {
        let writer = std::sync::Arc::new(WriterThread::start().await.unwrap());
        let caller = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(async { panic!("boom") }).await }
        });
        assert!(caller.await.unwrap_err().is_panic());
        assert_eq!(writer.run(async { 7 }).await.unwrap(), 7);
    }
}
