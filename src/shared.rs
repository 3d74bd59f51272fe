//! State the replicas share through Redis (`--redis-url`): one token bucket for Bloc's budget,
//! the cache's records, leases that let one replica fetch what the others wait for, and a
//! heartbeat that counts the live replicas.
//!
//! Redis is a help, never a dependency of an answer: every operation is bounded by
//! `--redis-timeout-ms` (a few milliseconds, never a request's deadline), and the first one
//! that fails or is late marks Redis down. While down, nothing is sent to it: the gateway
//! serves from its own cache and spends a local share of the budget (the rate ÷ the live
//! replicas last counted). The heartbeat keeps trying and brings the replica back when Redis
//! answers. Each transition is logged once and counted in `/metrics`.
//!
//! What Redis holds is sealed ([`seal`]): key names are HMACs, values AES-GCM, both keyed
//! from the Bloc secret key.

mod seal;

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use redis::{AsyncCommands as _, Script, aio::ConnectionManager};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::watch;

use self::seal::Seal;
use crate::metrics::Metrics;

/// The Redis settings.
#[derive(Clone, Debug, Default)]
pub struct SharedConfig {
    /// `redis://` or `rediss://` URL, a password in it allowed; `None`: each replica alone.
    pub redis_url: Option<SecretString>,
    /// Most time one Redis operation may take before Redis counts as down.
    pub timeout: Duration,
}

impl SharedConfig {
    /// The default bound on one Redis operation, in milliseconds: a round trip in the same
    /// zone takes well under one.
    pub const DEFAULT_TIMEOUT_MS: u64 = 20;
}

/// Why the shared state could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The URL is not a Redis URL (the URL itself is not shown: it may hold a password).
    #[error("REDIS_URL (--redis-url) is not a redis:// or rediss:// URL")]
    BadUrl,
    /// The keys for sealing could not be derived.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
}

/// The budget's shape, as the local bucket has it: `capacity` tokens saved up at most, one
/// earned every `interval`.
#[derive(Clone, Copy, Debug)]
pub struct BucketShape {
    pub interval: Duration,
    pub capacity: u32,
}

/// What the shared bucket said.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// A token was taken (reserved): the call may go after this wait (often zero).
    Allowed(Duration),
    /// No token within the wait allowed: one would be due after this long (nothing taken).
    Refused(Duration),
    /// Redis is down: use the local share.
    Unavailable,
}

/// What asking for a fetch's lease said.
#[derive(Debug, PartialEq, Eq)]
pub enum Lease {
    /// This replica fetches; the others wait for its result.
    Ours,
    /// Another replica is fetching.
    Theirs,
    /// Redis is down.
    Unavailable,
}

/// How often each replica renews its heartbeat (and, while Redis is down, tries it again).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// A replica not heard from for this long is no longer counted live.
const HEARTBEAT_TTL: Duration = Duration::from_secs(5);
/// Late answers in a row that mark Redis down.
const LATE_IN_A_ROW: u32 = 3;
/// How long connecting may take (at start-up and after Redis went away).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Records written per round trip when a list brings many.
const WRITE_CHUNK: usize = 256;
/// The bound on a bulk operation (a chunk of records, or the whole list): megabytes take
/// longer than one operation's bound, and are not a sign of an outage.
const BULK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not heard from yet (start-up): operations wait for the first contact, briefly.
    Connecting,
    Up,
    Down,
}

/// The shared state. Cheap to clone.
#[derive(Clone)]
pub struct Shared(Arc<Inner>);

struct Inner {
    client: redis::Client,
    connection: RwLock<Option<ConnectionManager>>,
    state: watch::Sender<State>,
    /// Live replicas at the last heartbeat (at least 1).
    live: AtomicU32,
    /// Operations late in a row.
    late: AtomicU32,
    /// Set when this replica spent its local share while Redis was down: back on the shared
    /// bucket, its first take treats the bucket as empty, so the calls made apart are not
    /// followed by a burst on top.
    spent_apart: AtomicBool,
    /// Whether the heartbeat task runs.
    beating: AtomicBool,
    seal: Seal,
    /// This replica's name in the heartbeat set (random, per process).
    replica: String,
    timeout: Duration,
    metrics: Arc<Metrics>,
    bucket: Script,
    heartbeat: Script,
    release: Script,
}

/// GCRA on Redis's clock: one key holds the theoretical arrival time (µs) of the next token.
/// ARGV: interval (µs per token), capacity (tokens), reserve (tokens to leave unspent),
/// empty (1: count the bucket as empty first), the longest wait the caller accepts (µs).
/// A token due within that wait is reserved (so waiters are served in the order they came,
/// one round trip each) and the wait returned (≥ 0); else nothing is taken and the time
/// until a token is due comes back negated.
const BUCKET: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local patience = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if ARGV[4] == '1' then tat = math.max(tat, now + capacity * interval) end
local next_tat = tat + interval
local wait = next_tat - (now + (capacity - reserve) * interval)
if wait > patience then
  if ARGV[4] == '1' then
    redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  end
  return -math.max(1, math.ceil(wait))
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return math.max(0, math.ceil(wait))
";

/// Renews this replica's heartbeat in a sorted set scored by expiry, drops the expired, and
/// counts the rest. ARGV: replica, time to live (ms).
const HEARTBEAT_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
";

/// Deletes a lease if it is still this replica's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

impl Shared {
    /// The shared state over `config`'s Redis, sealed with keys derived from `bloc_secret`;
    /// `None` without a Redis URL. Nothing is sent to Redis until [`Shared::start`].
    pub fn new(
        config: &SharedConfig,
        bloc_secret: &SecretString,
        metrics: Arc<Metrics>,
    ) -> Result<Option<Self>, SharedError> {
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let client = redis::Client::open(url.expose_secret()).map_err(|_| SharedError::BadUrl)?;
        let mut id = [0u8; 8];
        // A replica without randomness still works: its name only needs to differ from the
        // others', and the process id does that on one host.
        let _ = aws_lc_rs::rand::fill(&mut id);
        let replica = format!("{}-{}", std::process::id(), u64::from_le_bytes(id));
        let (state, _) = watch::channel(State::Connecting);
        metrics.redis_up.set(0);
        metrics.live_replicas.set(1);
        Ok(Some(Self(Arc::new(Inner {
            client,
            connection: RwLock::new(None),
            state,
            live: AtomicU32::new(1),
            late: AtomicU32::new(0),
            spent_apart: AtomicBool::new(false),
            beating: AtomicBool::new(false),
            seal: Seal::new(bloc_secret.expose_secret().as_bytes())?,
            replica,
            timeout: config.timeout,
            metrics,
            bucket: Script::new(BUCKET),
            heartbeat: Script::new(HEARTBEAT_SCRIPT),
            release: Script::new(RELEASE),
        }))))
    }

    /// Starts the heartbeat (once; needs a tokio runtime): it connects, counts the live
    /// replicas every second, and marks Redis up or down.
    pub fn start(&self) {
        if self.0.beating.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(inner) = inner.upgrade() else { return };
                Shared(inner).beat().await;
            }
        });
    }

    /// Whether the replica works on the shared state now.
    pub fn is_up(&self) -> bool {
        *self.0.state.borrow() == State::Up
    }

    /// `up`, `down`, or `connecting` (before the first contact).
    pub fn state(&self) -> &'static str {
        match *self.0.state.borrow() {
            State::Connecting => "connecting",
            State::Up => "up",
            State::Down => "down",
        }
    }

    /// Replicas that renewed their heartbeat lately, as last counted (at least 1).
    pub fn live_replicas(&self) -> u32 {
        self.0.live.load(Ordering::Relaxed).max(1)
    }

    /// Notes that a call was paid from the local share while Redis was down.
    pub fn spent_apart(&self) {
        self.0.spent_apart.store(true, Ordering::Relaxed);
    }

    /// Takes a token from the shared bucket, leaving `reserve` tokens unspent, if one is due
    /// within `patience`.
    pub async fn take(&self, shape: BucketShape, reserve: u32, patience: Duration) -> Take {
        let Some(mut connection) = self.connection().await else {
            return Take::Unavailable;
        };
        let empty = self.0.spent_apart.swap(false, Ordering::Relaxed);
        let interval = u64::try_from(shape.interval.as_micros()).unwrap_or(u64::MAX);
        let mut invocation = self.0.bucket.key(self.0.seal.name("b", b"bloc budget"));
        invocation
            .arg(interval)
            .arg(shape.capacity)
            .arg(reserve.min(shape.capacity.saturating_sub(1)))
            .arg(u8::from(empty))
            .arg(u64::try_from(patience.as_micros()).unwrap_or(u64::MAX));
        match self
            .bounded("bucket", invocation.invoke_async::<i64>(&mut connection))
            .await
        {
            Some(micros) if micros >= 0 => {
                Take::Allowed(Duration::from_micros(micros.unsigned_abs()))
            }
            Some(micros) => Take::Refused(Duration::from_micros(micros.unsigned_abs())),
            None => {
                if empty {
                    // Still owed to the shared bucket when Redis returns.
                    self.spent_apart();
                }
                Take::Unavailable
            }
        }
    }

    /// The value stored for `what`, if any (and if Redis is up).
    /// A `bulky` value (megabytes: the customer list) gets a bound for its size, and being
    /// late with it is not an outage.
    pub async fn get(&self, what: &[u8], bulky: bool) -> Option<Vec<u8>> {
        let mut connection = self.connection().await?;
        let name = self.0.seal.name("c", what);
        let get = connection.get::<_, Option<Vec<u8>>>(&name);
        let sealed: Vec<u8> = if bulky {
            self.bulk("get_bulky", get).await??
        } else {
            self.bounded("get", get).await??
        };
        let opened = self.0.seal.open(&name, &sealed);
        if opened.is_none() {
            self.0
                .metrics
                .redis_errors
                .with_label_values(&["unsealable"])
                .inc();
        }
        opened
    }

    /// Stores `value` for `what`, kept for `ttl` (`bulky`: as for [`Shared::get`]).
    pub async fn put(&self, what: &[u8], value: &[u8], ttl: Duration, bulky: bool) {
        let Some(mut connection) = self.connection().await else {
            return;
        };
        let name = self.0.seal.name("c", what);
        let Some(sealed) = self.0.seal.seal(&name, value) else {
            return;
        };
        let set = connection.pset_ex::<_, _, ()>(&name, sealed, millis(ttl));
        if bulky {
            let _ = self.bulk("set_bulky", set).await;
        } else {
            let _ = self.bounded("set", set).await;
        }
    }

    /// Stores many values, a chunk per round trip (bulk: see [`Shared::bulk`]).
    pub async fn put_many(&self, items: Vec<(Vec<u8>, Vec<u8>)>, ttl: Duration) {
        let Some(mut connection) = self.connection().await else {
            return;
        };
        for chunk in items.chunks(WRITE_CHUNK) {
            let mut pipe = redis::pipe();
            for (what, value) in chunk {
                let name = self.0.seal.name("c", what);
                if let Some(sealed) = self.0.seal.seal(&name, value) {
                    pipe.pset_ex(name, sealed, millis(ttl)).ignore();
                }
            }
            let written = pipe.query_async::<()>(&mut connection);
            if self.bulk("set_many", written).await.is_none() {
                return;
            }
        }
    }

    /// Asks for the lease on fetching `what`, held for `ttl` at most.
    pub async fn lease(&self, what: &[u8], ttl: Duration) -> Lease {
        let Some(mut connection) = self.connection().await else {
            return Lease::Unavailable;
        };
        let name = self.0.seal.name("l", what);
        let options = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::PX(millis(ttl)));
        let set = connection.set_options::<_, _, Option<String>>(&name, &self.0.replica, options);
        match self.bounded("lease", set).await {
            Some(Some(_)) => Lease::Ours,
            Some(None) => Lease::Theirs,
            None => Lease::Unavailable,
        }
    }

    /// Whether someone holds the lease on fetching `what` (`None`: Redis is down).
    pub async fn leased(&self, what: &[u8]) -> Option<bool> {
        let mut connection = self.connection().await?;
        let name = self.0.seal.name("l", what);
        self.bounded("leased", connection.exists::<_, bool>(&name))
            .await
    }

    /// Gives back the lease on `what`, if it is still this replica's.
    pub async fn release(&self, what: &[u8]) {
        let Some(mut connection) = self.connection().await else {
            return;
        };
        let mut invocation = self.0.release.key(self.0.seal.name("l", what));
        invocation.arg(&self.0.replica);
        let _: Option<i64> = self
            .bounded("release", invocation.invoke_async(&mut connection))
            .await;
    }

    /// The connection, when Redis is up (waiting briefly for the first contact at start-up).
    async fn connection(&self) -> Option<ConnectionManager> {
        let mut state = self.0.state.subscribe();
        if *state.borrow() == State::Connecting {
            let first = state.wait_for(|s| *s != State::Connecting);
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, first).await;
        }
        if !self.is_up() {
            return None;
        }
        self.0
            .connection
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Runs one operation within the timeout. A lost connection marks Redis down at once;
    /// late answers do after [`LATE_IN_A_ROW`] in a row (one slow moment of a busy machine is
    /// not an outage: that operation alone goes without Redis).
    async fn bounded<T>(
        &self,
        op: &'static str,
        operation: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        let lost = match tokio::time::timeout(self.0.timeout, operation).await {
            Ok(Ok(value)) => {
                self.0.late.store(0, Ordering::Relaxed);
                return Some(value);
            }
            Ok(Err(error)) => !error.is_timeout(),
            Err(_) => false,
        };
        self.0.metrics.redis_errors.with_label_values(&[op]).inc();
        let late = self
            .0
            .late
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if lost || late >= LATE_IN_A_ROW {
            self.mark(State::Down);
        }
        None
    }

    /// Runs a bulk operation (megabytes, or many records) within [`BULK_TIMEOUT`]; a failure
    /// is counted but not taken for an outage (the next small operation tells).
    async fn bulk<T>(
        &self,
        op: &'static str,
        operation: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(BULK_TIMEOUT, operation).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(_)) | Err(_) => {
                self.0.metrics.redis_errors.with_label_values(&[op]).inc();
                None
            }
        }
    }

    /// One heartbeat: connects if need be, renews this replica's entry and counts the live.
    async fn beat(&self) {
        let existing = self
            .0
            .connection
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut connection = match existing {
            Some(connection) => connection,
            None => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(CONNECT_TIMEOUT))
                    .set_number_of_retries(1);
                let connecting = ConnectionManager::new_with_config(self.0.client.clone(), config);
                match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                    Ok(Ok(connection)) => {
                        *self
                            .0
                            .connection
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some(connection.clone());
                        connection
                    }
                    _ => {
                        self.0
                            .metrics
                            .redis_errors
                            .with_label_values(&["connect"])
                            .inc();
                        self.mark(State::Down);
                        return;
                    }
                }
            }
        };
        let mut invocation = self.0.heartbeat.key(self.0.seal.name("r", b"replicas"));
        invocation.arg(&self.0.replica).arg(millis(HEARTBEAT_TTL));
        // The heartbeat is not on a request's path: it gets the connect bound, so a
        // replica under load is not marked down by a late heartbeat alone.
        let counted = tokio::time::timeout(
            CONNECT_TIMEOUT,
            invocation.invoke_async::<u32>(&mut connection),
        )
        .await;
        match counted {
            Ok(Ok(live)) => {
                self.0.live.store(live.max(1), Ordering::Relaxed);
                self.0.metrics.live_replicas.set(i64::from(live.max(1)));
                self.mark(State::Up);
            }
            _ => {
                self.0
                    .metrics
                    .redis_errors
                    .with_label_values(&["heartbeat"])
                    .inc();
                // The next beat connects afresh (Redis may have restarted elsewhere, or
                // behind the same name).
                *self
                    .0
                    .connection
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                self.mark(State::Down);
            }
        }
    }

    /// Moves to `to`, logging and counting a change.
    fn mark(&self, to: State) {
        let from = self.0.state.send_replace(to);
        if from == to {
            return;
        }
        let metrics = &self.0.metrics;
        match to {
            State::Up if from == State::Connecting => {
                metrics.redis_up.set(1);
                tracing::info!(
                    live_replicas = self.live_replicas(),
                    "Redis answers: the Bloc budget and the cache are shared"
                );
            }
            State::Up => {
                metrics.redis_up.set(1);
                metrics.redis_transitions.with_label_values(&["up"]).inc();
                tracing::warn!(
                    live_replicas = self.live_replicas(),
                    "Redis answers: the Bloc budget and the cache are shared again"
                );
            }
            State::Down => {
                metrics.redis_up.set(0);
                metrics.redis_transitions.with_label_values(&["down"]).inc();
                tracing::warn!(
                    live_replicas = self.live_replicas(),
                    "Redis is unreachable or slow: serving from this replica's cache, with the \
                     Bloc budget divided by the live replicas last counted"
                );
            }
            State::Connecting => {}
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    /// A `redis-server` on a free port, stopped when dropped.
    struct Server(std::process::Child, u16);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn server() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Server(child, port)
    }

    async fn shared(server: &Server) -> Shared {
        let config = SharedConfig {
            redis_url: Some(SecretString::from(format!(
                "redis://127.0.0.1:{}",
                server.1
            ))),
            timeout: Duration::from_millis(500),
        };
        let key = SecretString::from("sk_test_bucket");
        let shared = Shared::new(&config, &key, Arc::default()).unwrap().unwrap();
        shared.start();
        while !shared.is_up() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shared
    }

    fn wait(take: Take) -> Duration {
        match take {
            Take::Allowed(wait) => wait,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_bucket_reserves_turns_in_order_within_the_patience_and_refuses_past_it() {
        let server = server();
        let shared = shared(&server).await;
        let shape = BucketShape {
            interval: Duration::from_millis(100),
            capacity: 5,
        };
        let patience = Duration::from_millis(350);
        for _ in 0..5 {
            assert_eq!(wait(shared.take(shape, 0, patience).await), Duration::ZERO);
        }
        // Then one every 100 ms, each reserved for the one who asked, in order.
        let mut waits = Vec::new();
        for _ in 0..3 {
            waits.push(wait(shared.take(shape, 0, patience).await));
        }
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert!(
            waits[0] > Duration::from_millis(50) && waits[2] <= patience,
            "{waits:?}"
        );
        // The fourth would come after the patience: refused, with the time until one.
        match shared.take(shape, 0, patience).await {
            Take::Refused(after) => assert!(after > patience, "{after:?}"),
            other => panic!("{other:?}"),
        }
        // Half a second on, two tokens are saved again: a refresh that must leave a reserve
        // of 4 may not take one, a client's call may.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(matches!(
            shared.take(shape, 4, Duration::ZERO).await,
            Take::Refused(_)
        ));
        assert_eq!(
            wait(shared.take(shape, 0, Duration::ZERO).await),
            Duration::ZERO
        );
    }

    #[tokio::test]
    async fn after_spending_apart_the_next_shared_token_comes_from_an_empty_bucket() {
        let server = server();
        let shared = shared(&server).await;
        let shape = BucketShape {
            interval: Duration::from_millis(100),
            capacity: 5,
        };
        shared.spent_apart();
        // A full bucket, counted empty: the next token is one interval away.
        match shared.take(shape, 0, Duration::ZERO).await {
            Take::Refused(after) => assert!(after > Duration::from_millis(50), "{after:?}"),
            other => panic!("{other:?}"),
        }
        // Counted once: the bucket then earns as usual.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            wait(shared.take(shape, 0, Duration::ZERO).await),
            Duration::ZERO
        );
    }
}
