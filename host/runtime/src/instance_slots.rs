//! [`InstanceSlots`]: admission for plugin instances. The process has a fixed number of instance
//! slots (the pooling allocator's `max_live_instances`); each catalog may hold at most its quota
//! of them, and calls beyond that wait in a bounded queue instead of failing.
//!
//! A live instance, busy or warm in its catalog's pool, holds a [`SlotPermit`]: one process slot
//! and one of its catalog's. A call takes, in order: a warm instance of its catalog; else, when
//! no other new instance of the catalog is warming up, a new catalog slot and a process slot,
//! evicting other catalogs' warm instances when the process is full; else it waits, for at most `slot_wait`, until one of those frees. At most
//! `max_waiting_calls` calls of one catalog wait at once; one more gets [`Error::Busy`] at once.
//! So one catalog flooded with slow calls holds its quota and no more, and other catalogs keep
//! their share of the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::error::{At, Error, Result};
use crate::instance_pool::{Instance, InstancePool};

/// How instances are admitted, process-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSettings {
    /// Instance slots plugin calls may use, all catalogs together.
    pub process_slots: usize,
    /// Instances one catalog may hold at once (busy or warm).
    pub per_catalog: usize,
    /// Calls of one catalog that may wait for a slot at once.
    pub max_waiting_calls: usize,
    /// The longest a call waits for a slot.
    pub slot_wait: Duration,
}

/// The process's slots.
#[derive(Debug)]
pub(crate) struct InstanceSlots {
    settings: SlotSettings,
    process: Arc<Semaphore>,
    /// Calls waiting for a process slot: while there are any, instances are not kept warm.
    process_waiting: AtomicUsize,
}

/// One catalog's share.
#[derive(Debug)]
pub(crate) struct CatalogSlots {
    quota: Arc<Semaphore>,
    /// One new instance of the catalog at a time is instantiated and runs its first call (where
    /// a connector builds its expensive state: tpch's text pool). Several built at once on few
    /// cores each take several times longer, past the call deadline, and an instance that
    /// fails its deadline is dropped and built again: a burst would never get warm.
    opening: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Woken when an instance of this catalog goes back to its pool or is dropped, or a new
    /// instance has finished its first call.
    freed: Arc<Notify>,
}

/// What a live instance holds; dropping it frees both slots and wakes a waiting call.
#[derive(Debug)]
pub(crate) struct SlotPermit {
    _process: OwnedSemaphorePermit,
    _catalog: OwnedSemaphorePermit,
    freed: Arc<Notify>,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.freed.notify_waiters();
    }
}

/// The catalog's turn to build a new instance, held until that instance's first call ends.
#[derive(Debug)]
pub(crate) struct OpeningTurn {
    _permit: OwnedSemaphorePermit,
    freed: Arc<Notify>,
}

impl Drop for OpeningTurn {
    fn drop(&mut self) {
        self.freed.notify_waiters();
    }
}

/// What a call gets: a warm instance, or the right to make a new one (and the catalog's turn
/// to warm it up).
pub(crate) enum Lease {
    Warm(Box<Instance>),
    Fresh(SlotPermit, OpeningTurn),
}

impl InstanceSlots {
    pub fn new(settings: SlotSettings) -> Self {
        InstanceSlots {
            settings,
            process: Arc::new(Semaphore::new(settings.process_slots.max(1))),
            process_waiting: AtomicUsize::new(0),
        }
    }

    pub fn settings(&self) -> SlotSettings {
        self.settings
    }

    /// A catalog's share of the slots.
    pub fn catalog(&self) -> CatalogSlots {
        CatalogSlots {
            quota: Arc::new(Semaphore::new(self.settings.per_catalog.max(1))),
            opening: Arc::new(Semaphore::new(1)),
            waiting: AtomicUsize::new(0),
            freed: Arc::new(Notify::new()),
        }
    }

    /// True when calls wait for a process slot: an instance that finishes should then be
    /// dropped rather than kept warm, so its slot goes to them.
    pub fn contended(&self) -> bool {
        self.process_waiting.load(Ordering::Relaxed) > 0
    }

    /// Process slots free right now.
    pub fn free(&self) -> usize {
        self.process.available_permits()
    }

    /// A warm instance of the catalog or a permit for a new one; waits in the catalog's bounded
    /// queue when it holds its whole quota. `evict` drops one warm instance of some other
    /// catalog and says whether it found one.
    pub async fn lease(
        &self,
        at: &At,
        catalog: &CatalogSlots,
        pool: &InstancePool,
        evict: impl Fn() -> bool,
    ) -> Result<Lease> {
        let deadline = tokio::time::Instant::now() + self.settings.slot_wait;
        let mut queued: Option<Waiting<'_>> = None;
        let (catalog_permit, turn) = loop {
            let freed = catalog.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(instance) = pool.take() {
                return Ok(Lease::Warm(Box::new(instance)));
            }
            if let Ok(opening) = catalog.opening.clone().try_acquire_owned()
                && let Ok(permit) = catalog.quota.clone().try_acquire_owned()
            {
                break (
                    permit,
                    OpeningTurn {
                        _permit: opening,
                        freed: catalog.freed.clone(),
                    },
                );
            }
            if queued.is_none() {
                if catalog.waiting.load(Ordering::Relaxed) >= self.settings.max_waiting_calls {
                    return Err(self.busy(at, "its calls already fill the wait queue"));
                }
                queued = Some(Waiting::new(&catalog.waiting));
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(self.busy(at, "no instance slot of the catalog freed in time"));
            }
        };
        drop(queued);
        let process_permit = match self.process.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait_for_process_slot(at, deadline, &evict).await?,
        };
        Ok(Lease::Fresh(
            SlotPermit {
                _process: process_permit,
                _catalog: catalog_permit,
                freed: catalog.freed.clone(),
            },
            turn,
        ))
    }

    async fn wait_for_process_slot(
        &self,
        at: &At,
        deadline: tokio::time::Instant,
        evict: &impl Fn() -> bool,
    ) -> Result<OwnedSemaphorePermit> {
        // Warm instances of other catalogs give way first.
        while evict() {
            if let Ok(permit) = self.process.clone().try_acquire_owned() {
                return Ok(permit);
            }
        }
        let _waiting = Waiting::new(&self.process_waiting);
        match tokio::time::timeout_at(deadline, self.process.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Error::Internal("instance slots closed".into())),
            Err(_) => Err(self.busy(at, "every instance slot of this process is in use")),
        }
    }

    fn busy(&self, at: &At, why: &str) -> Error {
        Error::Busy {
            at: at.clone(),
            message: format!(
                "{why} (at most {} instances per catalog, {} calls waiting, {:?} wait); try \
                 again later",
                self.settings.per_catalog, self.settings.max_waiting_calls, self.settings.slot_wait
            ),
        }
    }
}

impl CatalogSlots {
    /// Wakes the calls waiting for this catalog (an instance went back to the pool).
    pub fn wake(&self) {
        self.freed.notify_waiters();
    }

    /// Calls of this catalog waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Counts one waiting call for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
