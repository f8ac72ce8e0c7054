//! The process-wide request budget, shared by every connection: slots for admission
//! requests being read and decided, bytes of request bodies held, and bytes of responses
//! that clients have not taken yet. A request that cannot get what it needs within the
//! queue wait is refused with 503 and `Retry-After` instead of growing the process; the
//! API server then applies the webhook's failurePolicy.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::limits::ServerLimits;

/// kube-apiserver's own limit on a request body (3 MiB); an UPDATE review carries the
/// object twice, so it can exceed axum's 2 MB default.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// Bytes of responses handed to connections and not yet taken by their clients (an HTTP/2
/// client can leave its flow-control window at zero). Responses are capped (findings,
/// denial length, warnings) at about 16 KiB, so this is at least 512 of the largest and
/// thousands of ordinary ones; a response that does not fit waits like a body does.
pub const RESPONSE_BYTES_IN_FLIGHT: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub struct Budget {
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    responses: Arc<Semaphore>,
    limits: ServerLimits,
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyRefused {
    /// Over [`MAX_BODY_BYTES`], declared or received.
    TooLarge,
    /// The body budget stayed full for the whole queue wait.
    Busy,
    /// Not received within the body timeout.
    TimedOut,
    /// The client broke off or sent something that is not a body.
    Broken(String),
}

/// Body bytes held against the budget; given back when dropped.
#[derive(Debug)]
pub struct Charged(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

/// What [`Budget::reserve`] charged for a body before it is read.
#[derive(Debug)]
pub struct Reserved {
    declared: Option<usize>,
    charged: Option<OwnedSemaphorePermit>,
    /// Bytes the body may reach before more must be charged.
    charged_up_to: usize,
}

impl Budget {
    pub fn new(limits: ServerLimits) -> Self {
        Budget {
            slots: Arc::new(Semaphore::new(limits.max_requests_in_flight as usize)),
            bytes: Arc::new(Semaphore::new(limits.max_body_bytes_in_flight as usize)),
            responses: Arc::new(Semaphore::new(RESPONSE_BYTES_IN_FLIGHT)),
            limits,
        }
    }

    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// A request slot, waiting at most the queue wait; `None` when none freed up.
    pub async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.limits.queue_wait, self.slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// Room for a response of `bytes` until the client has taken it, waiting at most the
    /// queue wait; `None` when none freed up.
    pub async fn response(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let bytes = u32::try_from(bytes.clamp(1, RESPONSE_BYTES_IN_FLIGHT)).ok()?;
        let room = self.responses.clone().acquire_many_owned(bytes);
        tokio::time::timeout(self.limits.queue_wait, room)
            .await
            .ok()?
            .ok()
    }

    /// Slots taken now (for tests and the in-flight gauge's readers).
    pub fn slots_in_use(&self) -> usize {
        self.limits.max_requests_in_flight as usize - self.slots.available_permits()
    }

    /// Body bytes held now beyond the per-request allowance.
    pub fn bytes_in_use(&self) -> usize {
        self.limits.max_body_bytes_in_flight as usize - self.bytes.available_permits()
    }

    /// Charges a declared body's bytes past the allowance before anything else is taken
    /// for the request, waiting at most the queue wait. Requests waiting here hold no
    /// request slot, so a crowd of large bodies queued for the budget never delays the
    /// small reviews that are nearly all of the traffic.
    pub async fn reserve(&self, declared: Option<u64>) -> Result<Reserved, BodyRefused> {
        if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
            return Err(BodyRefused::TooLarge);
        }
        let declared = declared.map(|len| len as usize);
        let allowance = self.limits.body_allowance_bytes as usize;
        let deadline = Instant::now() + self.limits.queue_wait;
        match declared.filter(|len| *len > allowance) {
            Some(len) => Ok(Reserved {
                declared,
                charged: Some(self.charge(len - allowance, deadline).await?),
                charged_up_to: len,
            }),
            None => Ok(Reserved {
                declared,
                charged: None,
                charged_up_to: allowance,
            }),
        }
    }

    /// Reads a whole body within what [`Budget::reserve`] charged, charging every further
    /// byte past the allowance before it is read (bodies without a declared length are
    /// charged chunk by chunk), so a client stalling with a large body holds budget, not
    /// unbounded memory, and others wait their turn. The charge lasts as long as the
    /// returned [`Charged`].
    pub async fn read_body<B>(
        &self,
        body: B,
        reserved: Reserved,
    ) -> Result<(Bytes, Charged), BodyRefused>
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let started = Instant::now();
        let queue_deadline = started + self.limits.queue_wait;
        let body_deadline = started + self.limits.body_timeout;
        let Reserved {
            declared,
            mut charged,
            mut charged_up_to,
        } = reserved;
        let mut data = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY_BYTES));
        let mut body = body;
        loop {
            let frame = match tokio::time::timeout_at(body_deadline, body.frame()).await {
                Err(_) => return Err(BodyRefused::TimedOut),
                Ok(None) => break,
                Ok(Some(Err(err))) => return Err(BodyRefused::Broken(err.to_string())),
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(chunk) = frame.into_data() else {
                continue; // trailers
            };
            let total = data.len() + chunk.len();
            if total > MAX_BODY_BYTES {
                return Err(BodyRefused::TooLarge);
            }
            if total > charged_up_to {
                // Past the declared length or the allowance: charge before holding it.
                let more = self.charge(total - charged_up_to, queue_deadline).await?;
                match &mut charged {
                    Some(held) => held.merge(more),
                    None => charged = Some(more),
                }
                charged_up_to = total;
            }
            data.extend_from_slice(&chunk);
        }
        Ok((Bytes::from(data), Charged(charged)))
    }

    async fn charge(
        &self,
        bytes: usize,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, BodyRefused> {
        let bytes = u32::try_from(bytes).map_err(|_| BodyRefused::TooLarge)?;
        // A body larger than the whole budget could never be served.
        if bytes as u64 > self.limits.max_body_bytes_in_flight {
            return Err(BodyRefused::TooLarge);
        }
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        match tokio::time::timeout(wait, self.bytes.clone().acquire_many_owned(bytes)).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BodyRefused::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use hyper::body::Frame;

    fn budget(bytes: u64, allowance: u64) -> Budget {
        Budget::new(ServerLimits {
            max_body_bytes_in_flight: bytes,
            body_allowance_bytes: allowance,
            max_requests_in_flight: 2,
            queue_wait: Duration::from_millis(50),
            body_timeout: Duration::from_millis(200),
            ..ServerLimits::default()
        })
    }

    async fn read<B>(
        budget: &Budget,
        body: B,
        declared: Option<u64>,
    ) -> Result<(Bytes, Charged), BodyRefused>
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let reserved = budget.reserve(declared).await?;
        budget.read_body(body, reserved).await
    }

    #[tokio::test]
    async fn a_reservation_holds_the_declared_bytes_until_the_body_is_dropped() {
        let budget = budget(1000, 100);
        let first = budget.reserve(Some(1000)).await.unwrap();
        assert_eq!(budget.bytes_in_use(), 900);
        // Nothing left: the next large body waits the queue wait and is refused.
        assert_eq!(
            budget.reserve(Some(300)).await.unwrap_err(),
            BodyRefused::Busy
        );
        // Small bodies need no reservation.
        assert!(budget.reserve(Some(100)).await.is_ok());
        let (body, charged) = budget
            .read_body(Full::new(Bytes::from(vec![b'a'; 1000])), first)
            .await
            .unwrap();
        assert_eq!((body.len(), budget.bytes_in_use()), (1000, 900));
        drop(charged);
        assert_eq!(budget.bytes_in_use(), 0);
    }

    #[tokio::test]
    async fn small_bodies_are_free_and_large_ones_charged_until_dropped() {
        let budget = budget(1000, 100);
        let (small, charge) = read(&budget, Full::new(Bytes::from(vec![b'a'; 100])), Some(100))
            .await
            .unwrap();
        assert_eq!(small.len(), 100);
        assert_eq!(budget.bytes_in_use(), 0);
        drop(charge);
        let (_, declared) = read(&budget, Full::new(Bytes::from(vec![b'a'; 600])), Some(600))
            .await
            .unwrap();
        assert_eq!(budget.bytes_in_use(), 500);
        // Undeclared: charged as it arrives; the budget (500 left) is too small for 900.
        let undeclared = read(&budget, Full::new(Bytes::from(vec![b'a'; 1000])), None).await;
        assert_eq!(undeclared.unwrap_err(), BodyRefused::Busy);
        assert_eq!(budget.bytes_in_use(), 500);
        drop(declared);
        assert_eq!(budget.bytes_in_use(), 0);
        let (body, charge) = read(&budget, Full::new(Bytes::from(vec![b'a'; 1000])), None)
            .await
            .unwrap();
        assert_eq!((body.len(), budget.bytes_in_use()), (1000, 900));
        drop(charge);
    }

    #[tokio::test]
    async fn oversized_and_stalled_bodies_are_refused() {
        let budget = budget(8 << 20, 100);
        let too_large = read(
            &budget,
            Full::new(Bytes::new()),
            Some(MAX_BODY_BYTES as u64 + 1),
        )
        .await;
        assert_eq!(too_large.unwrap_err(), BodyRefused::TooLarge);
        let refused = read(&budget, Stall { sent: false }, None)
            .await
            .unwrap_err();
        assert_eq!(refused, BodyRefused::TimedOut);
        assert_eq!(budget.bytes_in_use(), 0);
    }

    /// One frame of data, then nothing ever again.
    struct Stall {
        sent: bool,
    }

    impl hyper::body::Body for Stall {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.sent {
                return std::task::Poll::Pending;
            }
            self.sent = true;
            std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{")))))
        }
    }

    #[tokio::test]
    async fn response_room_runs_out_and_comes_back() {
        let budget = budget(1 << 20, 100);
        let held = budget
            .response(RESPONSE_BYTES_IN_FLIGHT - 10)
            .await
            .unwrap();
        assert!(budget.response(10).await.is_some());
        assert!(budget.response(11).await.is_none());
        drop(held);
        assert!(
            budget
                .response(RESPONSE_BYTES_IN_FLIGHT * 2)
                .await
                .is_some()
        );
    }

    #[tokio::test]
    async fn slots_run_out_and_come_back() {
        let budget = budget(1 << 20, 100);
        let one = budget.slot().await.unwrap();
        let _two = budget.slot().await.unwrap();
        assert!(budget.slot().await.is_none());
        assert_eq!(budget.slots_in_use(), 2);
        drop(one);
        assert!(budget.slot().await.is_some());
    }
}
