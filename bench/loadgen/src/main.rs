//! `loadgen`: the economy benchmark's load generator (bench/economy drives it).
//!
//! A closed loop: each of `--connections` tasks holds one HTTP/1.1 keep-alive connection and
//! sends, back to back, the one-customer query for a random id (uniform over the ids file, or
//! Zipf over its ranks, the first line being rank 1). Per answer it records the latency,
//! whether it is an error (by `extensions.code`), how old its data is (receipt time minus
//! `customer.updated_at`, which the sandbox's `--live-updates` sets to the moment Bloc served
//! it) and whether the facade marked it stale. At the end it prints one JSON object.
//!
//! With `--rest-template 'http://HOST:PORT/customer/{id}'` it sends `GET` to that URL (the id
//! substituted, percent-encoded) instead of the GraphQL `POST`, for REST baselines such as
//! bench/proxy: a 200 with a JSON body is an answer, its age taken from a top-level
//! `updated_at` when there is one; any other status is the error `HTTP_<status>`.
//!
//! With `--distribution cycle` the ids are asked for in turn (file order, one counter shared by
//! every connection), so the requests in flight at any moment ask for distinct ids whenever
//! the file holds more ids than there are connections: nothing for the target to share
//! between concurrent requests (bench/run's and bench/rotating's W1).
//!
//! `--query` replaces the GraphQL query: with `__ID__` in it, each id is written into the
//! query text as a string literal (one document per id, no variables); without, the id goes
//! in `variables.id`.
//!
//! `--rate R` paces the load to R requests a second in all (each connection sends every
//! `connections / R` seconds, staggered, catching up at once when an answer came late) instead
//! of back to back: an offered rate, for capacity curves (bench/capacity).
//!
//! `--url` may be given several times (replicas of the facade): connection i talks to the
//! (i mod n)-th URL, so the connections are spread round robin over the targets, and the
//! report's `targets` says what each answered (bench/capacity).
//!
//! Built for one core (a current-thread runtime, pinned with taskset by the script): request
//! bodies are rendered once per id, and answers are parsed into a borrowed struct.

mod answer;
mod stats;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::{
    HeaderMap, Method, Request, StatusCode, Uri,
    client::conn::http1::{self, SendRequest},
    header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue},
};
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution as _, Zipf};
use tokio::net::TcpStream;

use stats::Stats;

/// The query every request sends (unless `--query`); only the id changes.
const QUERY: &str = "query Economy($id: ID!) { customer(id: $id) { id name kyc_tier updated_at } }";

/// Where `--query` takes the id as a literal.
const ID_PLACEHOLDER: &str = "__ID__";

/// Closed-loop load of one-customer GraphQL queries (or REST GETs) over random ids; prints one
/// JSON object.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// The facade's GraphQL endpoint, e.g. `http://127.0.0.1:18193/graphql` (plain HTTP).
    /// Repeatable: connection i uses the (i mod n)-th one (round robin over replicas).
    #[arg(
        long,
        required_unless_present = "rest_template",
        conflicts_with = "rest_template"
    )]
    url: Vec<Uri>,
    /// Instead of GraphQL: `GET` this URL with `{id}` replaced by the id, e.g.
    /// `http://127.0.0.1:18182/customer/{id}` (plain HTTP). A 200 with a JSON body is an
    /// answer, aged by its top-level `updated_at`; any other status is `HTTP_<status>`.
    #[arg(long, value_name = "URL")]
    rest_template: Option<String>,
    /// File of customer ids, one per line; for Zipf, the first line is the most asked for.
    #[arg(long, value_name = "FILE")]
    ids: PathBuf,
    /// Connections, each a task sending its next request as soon as the last is answered.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// How long to measure, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Stop after sending this many requests in all (the measured ones: after the warm-up),
    /// or at the end of `--seconds`, whichever comes first. For instruction profiles, which
    /// divide by an exact request count.
    #[arg(long)]
    requests: Option<u64>,
    /// How ids are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    distribution: Pick,
    /// The GraphQL query to send instead of the default one. With `__ID__` in it, each id is
    /// written there as a string literal and no variables are sent; without, the query must
    /// take `$id` (the id goes in `variables.id`).
    #[arg(long, conflicts_with = "rest_template")]
    query: Option<String>,
    /// Zipf exponent (with `--distribution zipf`).
    #[arg(long, default_value_t = 1.1)]
    zipf_s: f64,
    /// Unmeasured load first, in seconds.
    #[arg(long, default_value_t = 0.0)]
    warmup_seconds: f64,
    /// An extra request header, `name: value`; repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Give up on one answer after this many milliseconds (counted as `CLIENT_TIMEOUT`).
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Seed of the id draws (task i uses seed + i), so runs ask for the same ids in turn.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests a second to offer, in all (each connection paced to its share); 0 sends
    /// back to back (a closed loop).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
}

/// Id distributions.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Pick {
    /// Every id equally likely.
    Uniform,
    /// Rank k asked for in proportion to 1 / k^s.
    Zipf,
    /// Every id in turn, file order, from one counter shared by all connections.
    Cycle,
}

/// One id's request, rendered once: a request clones reference counts.
#[derive(Clone, Default)]
struct Prepared {
    path: Uri,
    body: Bytes,
}

/// One server the connections talk to (one per `--url`; one for `--rest-template`).
struct Target {
    /// As given, for the report.
    url: String,
    addr: SocketAddr,
    headers: HeaderMap,
    /// One request per id, in file order (the bodies shared between targets).
    requests: Vec<Prepared>,
}

/// What every task shares.
struct Shared {
    /// Connection i talks to `targets[i % targets.len()]`.
    targets: Vec<Target>,
    /// GraphQL `POST`s, or REST `GET`s (`--rest-template`).
    rest: bool,
    zipf: Option<Zipf<f64>>,
    /// `--distribution cycle`: the next request's index.
    cycle: Option<AtomicUsize>,
    /// `--connections`.
    connections: u32,
    /// `--rate`: each connection's time between sends.
    pace: Option<Duration>,
    /// `--requests`: measured requests still to send.
    left: Option<AtomicU64>,
    timeout: Duration,
    /// Answers to requests started from here on are measured.
    measure_from: Instant,
    /// No request is started, or waited for, past this.
    until: Instant,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(error) => Err(format!("cannot start the runtime: {error}")),
    };
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<serde_json::Value, String> {
    let shared = Arc::new(setup(&args).await?);
    let count = shared.targets.len().max(1);
    let tasks: Vec<_> = (0..args.connections)
        .map(|index| {
            let shared = Arc::clone(&shared);
            let rng = SmallRng::seed_from_u64(args.seed.wrapping_add(u64::from(index)));
            let target = usize::try_from(index).unwrap_or(0) % count;
            (target, tokio::spawn(worker(shared, index, target, rng)))
        })
        .collect();
    let mut total = Stats::default();
    // Per target: connections, answers, errors.
    let mut per_target = vec![(0u32, 0usize, 0u64); count];
    for (target, task) in tasks {
        let stats = task
            .await
            .map_err(|e| format!("a connection task failed: {e}"))?;
        if let Some(row) = per_target.get_mut(target) {
            let (answers, errors) = stats.counts();
            row.0 = row.0.saturating_add(1);
            row.1 = row.1.saturating_add(answers);
            row.2 = row.2.saturating_add(errors);
        }
        total.merge(stats);
    }
    let mut report = total.report(args.seconds);
    let targets: Vec<_> = shared
        .targets
        .iter()
        .zip(&per_target)
        .map(|(target, (connections, queries, errors))| {
            serde_json::json!({
                "url": target.url,
                "connections": connections,
                "queries": queries,
                "error_total": errors,
            })
        })
        .collect();
    if let Some(object) = report.as_object_mut() {
        object.insert("targets".into(), targets.into());
    }
    Ok(report)
}

async fn setup(args: &Args) -> Result<Shared, String> {
    let text = std::fs::read_to_string(&args.ids)
        .map_err(|e| format!("cannot read {}: {e}", args.ids.display()))?;
    let ids: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    let Some(first) = ids.first() else {
        return Err(format!("{} holds no ids", args.ids.display()));
    };
    let zipf = match args.distribution {
        Pick::Uniform | Pick::Cycle => None,
        Pick::Zipf => Some(
            Zipf::new(ids.len() as f64, args.zipf_s)
                .map_err(|e| format!("bad --zipf-s {}: {e}", args.zipf_s))?,
        ),
    };
    let rest = args.rest_template.is_some();
    // (the URL as given, host:port, one request per id)
    let plans: Vec<(String, String, Vec<Prepared>)> = match (&args.rest_template, &args.url[..]) {
        (Some(template), _) => {
            if !template.contains("{id}") {
                return Err(format!("--rest-template {template:?} holds no {{id}}"));
            }
            let (authority, _) = split_url(&rest_url(template, first), "--rest-template")?;
            let requests = ids
                .iter()
                .map(|id| {
                    let (at, path) = split_url(&rest_url(template, id), "--rest-template")?;
                    if at != authority {
                        return Err(format!("--rest-template {template:?}: {{id}} in the host"));
                    }
                    Ok(Prepared {
                        path,
                        body: Bytes::new(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            vec![(template.clone(), authority, requests)]
        }
        (None, []) => return Err("give --url or --rest-template".into()),
        (None, urls) => {
            let query = args.query.as_deref().unwrap_or(QUERY);
            // One body per id, shared by every target.
            let bodies: Vec<Bytes> = ids
                .iter()
                .map(|id| {
                    let body = if query.contains(ID_PLACEHOLDER) {
                        // A JSON string is a GraphQL string literal for the ids used here.
                        let literal = serde_json::Value::from(*id).to_string();
                        serde_json::json!({ "query": query.replace(ID_PLACEHOLDER, &literal) })
                    } else {
                        serde_json::json!({ "query": query, "variables": { "id": id } })
                    };
                    Bytes::from(body.to_string())
                })
                .collect();
            urls.iter()
                .map(|url| {
                    let (authority, path) = split_url(&url.to_string(), "--url")?;
                    let requests = bodies
                        .iter()
                        .map(|body| Prepared {
                            path: path.clone(),
                            body: body.clone(),
                        })
                        .collect();
                    Ok((url.to_string(), authority, requests))
                })
                .collect::<Result<Vec<_>, String>>()?
        }
    };
    let mut targets = Vec::with_capacity(plans.len());
    for (url, authority, requests) in plans {
        targets.push(target(url, &authority, requests, rest, &args.headers).await?);
    }
    let measure_from = Instant::now() + Duration::from_secs_f64(args.warmup_seconds.max(0.0));
    Ok(Shared {
        targets,
        rest,
        zipf,
        cycle: matches!(args.distribution, Pick::Cycle).then(|| AtomicUsize::new(0)),
        left: args.requests.map(AtomicU64::new),
        timeout: Duration::from_millis(args.timeout_ms),
        connections: args.connections,
        pace: (args.rate > 0.0)
            .then(|| Duration::try_from_secs_f64(f64::from(args.connections) / args.rate).ok())
            .flatten(),
        measure_from,
        until: measure_from + Duration::from_secs_f64(args.seconds.max(0.0)),
    })
}

/// A target's address and headers (`Host`, the content type, `--header`s).
async fn target(
    url: String,
    authority: &str,
    requests: Vec<Prepared>,
    rest: bool,
    extra: &[String],
) -> Result<Target, String> {
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let mut headers = HeaderMap::new();
    let host = HeaderValue::from_str(authority).map_err(|e| e.to_string())?;
    headers.insert(HOST, host);
    if !rest {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    for header in extra {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?} is not `name: value`"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| format!("--header {header:?}: {e}"))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|e| format!("--header {header:?}: {e}"))?;
        headers.append(name, value);
    }
    Ok(Target {
        url,
        addr,
        headers,
        requests,
    })
}

impl Shared {
    /// Whether a request starting at `now` may be sent (`--requests` not used up).
    fn take_one(&self, now: Instant) -> bool {
        match &self.left {
            Some(left) if now >= self.measure_from => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
            _ => true,
        }
    }
}

/// One connection's closed loop to `targets[target]`, reconnecting after a broken connection
/// or a timeout.
async fn worker(shared: Arc<Shared>, index: u32, target: usize, mut rng: SmallRng) -> Stats {
    let mut stats = Stats::default();
    // With `--rate`: when this connection sends next; the connections start staggered.
    let mut next = shared.pace.map(|pace| {
        let connections = f64::from(shared.connections.max(1));
        Instant::now() + pace.mul_f64(f64::from(index) / connections)
    });
    let Some(target) = shared.targets.get(target) else {
        return stats;
    };
    while Instant::now() < shared.until {
        let mut sender = match connect(target.addr).await {
            Ok(sender) => sender,
            Err(_) => {
                if Instant::now() >= shared.measure_from {
                    stats.error("CONNECT");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        loop {
            if let (Some(at), Some(pace)) = (next.as_mut(), shared.pace) {
                if *at >= shared.until {
                    return stats;
                }
                tokio::time::sleep_until((*at).into()).await;
                *at += pace;
            }
            let started = Instant::now();
            if started >= shared.until || !shared.take_one(started) {
                return stats;
            }
            let prepared = pick(&shared, target, &mut rng);
            let deadline = (started + shared.timeout).min(shared.until);
            let exchange = tokio::time::timeout_at(
                deadline.into(),
                send(&mut sender, shared.rest, target, prepared),
            );
            let measured = started >= shared.measure_from;
            let outcome = exchange.await;
            let latency = started.elapsed();
            match outcome {
                // Cut off by the end of the run: neither an answer nor an error.
                Err(_) if Instant::now() >= shared.until => break,
                Err(_) => {
                    if measured {
                        stats.failed(latency, "CLIENT_TIMEOUT");
                    }
                    break;
                }
                Ok(Err(_)) => {
                    if measured {
                        stats.failed(latency, "TRANSPORT");
                    }
                    break;
                }
                Ok(Ok((status, bytes))) => {
                    if measured && shared.rest {
                        answer::record_rest(&mut stats, latency, status, &bytes);
                    } else if measured {
                        answer::record(&mut stats, latency, status, &bytes);
                    }
                }
            }
        }
    }
    stats
}

/// A plain-HTTP URL's `host:port` and its path (with the query), as `flag` names it.
fn split_url(url: &str, flag: &str) -> Result<(String, Uri), String> {
    let url = url
        .parse::<Uri>()
        .map_err(|e| format!("bad {flag} {url:?}: {e}"))?;
    if url.scheme_str() != Some("http") {
        return Err(format!("{flag} must be plain http://"));
    }
    let authority = url
        .authority()
        .ok_or_else(|| {
            format!("{flag} needs a host and port, e.g. http://127.0.0.1:18193/graphql")
        })?
        .as_str()
        .to_owned();
    let path = url
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<Uri>()
        .map_err(|e| format!("bad {flag} path: {e}"))?;
    Ok((authority, path))
}

/// `template` with every `{id}` replaced by `id`, percent-encoded but for RFC 3986's
/// unreserved characters.
fn rest_url(template: &str, id: &str) -> String {
    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    template.replace("{id}", &encoded)
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // A broken connection shows as the sender's error; nothing to add here.
        let _ = connection.await;
    });
    Ok(sender)
}

fn pick(shared: &Shared, target: &Target, rng: &mut SmallRng) -> Prepared {
    let count = target.requests.len();
    let index = match (&shared.zipf, &shared.cycle) {
        // Ranks are 1..=count as floats; rank 1 is the file's first id.
        (Some(zipf), _) => (zipf.sample(rng) as usize).saturating_sub(1),
        (None, Some(next)) => next.fetch_add(1, Ordering::Relaxed) % count.max(1),
        (None, None) => rng.random_range(0..count),
    };
    target
        .requests
        .get(index.min(count.saturating_sub(1)))
        .cloned()
        .unwrap_or_default()
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    rest: bool,
    target: &Target,
    prepared: Prepared,
) -> Result<(StatusCode, Bytes), hyper::Error> {
    let mut request = Request::new(Full::new(prepared.body));
    *request.method_mut() = if rest { Method::GET } else { Method::POST };
    *request.uri_mut() = prepared.path;
    *request.headers_mut() = target.headers.clone();
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}
