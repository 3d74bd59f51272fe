//! `loadgen`: the economy benchmark's load generator (bench/economy drives it).
//!
//! A closed loop: each of `--connections` tasks holds one HTTP/1.1 keep-alive connection and
//! sends, back to back, the one-customer query for a random id (uniform over the ids file, or
//! Zipf over its ranks, the first line being rank 1). Per answer it records the latency,
//! whether it is an error (by `extensions.code`), how old its data is (receipt time minus
//! `customer.updated_at`, which the sandbox's `--live-updates` sets to the moment Bloc served
//! it) and whether the facade marked it stale. At the end it prints one JSON object.
//!
//! Built for one core (a current-thread runtime, pinned with taskset by the script): request
//! bodies are rendered once per id, and answers are parsed into a borrowed struct.

mod answer;
mod stats;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
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

/// The query every request sends; only the id changes.
const QUERY: &str = "query Economy($id: ID!) { customer(id: $id) { id name kyc_tier updated_at } }";

/// Closed-loop load of one-customer GraphQL queries over random ids; prints one JSON object.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// The facade's GraphQL endpoint, e.g. `http://127.0.0.1:18193/graphql` (plain HTTP).
    #[arg(long)]
    url: Uri,
    /// File of customer ids, one per line; for Zipf, the first line is the most asked for.
    #[arg(long, value_name = "FILE")]
    ids: PathBuf,
    /// Connections, each a task sending its next request as soon as the last is answered.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// How long to measure, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// How ids are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    distribution: Pick,
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
}

/// Id distributions.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Pick {
    /// Every id equally likely.
    Uniform,
    /// Rank k asked for in proportion to 1 / k^s.
    Zipf,
}

/// What every task shares.
struct Shared {
    addr: SocketAddr,
    path: Uri,
    headers: HeaderMap,
    /// One rendered request body per id, in file order: a request clones a reference count.
    bodies: Vec<Bytes>,
    zipf: Option<Zipf<f64>>,
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
    let tasks: Vec<_> = (0..args.connections)
        .map(|index| {
            let shared = Arc::clone(&shared);
            let rng = SmallRng::seed_from_u64(args.seed.wrapping_add(u64::from(index)));
            tokio::spawn(worker(shared, rng))
        })
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        let stats = task
            .await
            .map_err(|e| format!("a connection task failed: {e}"))?;
        total.merge(stats);
    }
    Ok(total.report(args.seconds))
}

async fn setup(args: &Args) -> Result<Shared, String> {
    let text = std::fs::read_to_string(&args.ids)
        .map_err(|e| format!("cannot read {}: {e}", args.ids.display()))?;
    let bodies: Vec<Bytes> = text
        .lines()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            let body = serde_json::json!({ "query": QUERY, "variables": { "id": id } });
            Bytes::from(body.to_string())
        })
        .collect();
    if bodies.is_empty() {
        return Err(format!("{} holds no ids", args.ids.display()));
    }
    let zipf = match args.distribution {
        Pick::Uniform => None,
        Pick::Zipf => Some(
            Zipf::new(bodies.len() as f64, args.zipf_s)
                .map_err(|e| format!("bad --zipf-s {}: {e}", args.zipf_s))?,
        ),
    };
    let authority = args
        .url
        .authority()
        .ok_or("--url needs a host and port, e.g. http://127.0.0.1:18193/graphql")?
        .clone();
    if args.url.scheme_str() != Some("http") {
        return Err("--url must be plain http://".into());
    }
    let addr = tokio::net::lookup_host(authority.as_str())
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let path = args
        .url
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<Uri>()
        .map_err(|e| format!("bad --url path: {e}"))?;
    let mut headers = HeaderMap::new();
    let host = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
    headers.insert(HOST, host);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?} is not `name: value`"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| format!("--header {header:?}: {e}"))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|e| format!("--header {header:?}: {e}"))?;
        headers.append(name, value);
    }
    let measure_from = Instant::now() + Duration::from_secs_f64(args.warmup_seconds.max(0.0));
    Ok(Shared {
        addr,
        path,
        headers,
        bodies,
        zipf,
        timeout: Duration::from_millis(args.timeout_ms),
        measure_from,
        until: measure_from + Duration::from_secs_f64(args.seconds.max(0.0)),
    })
}

/// One connection's closed loop, reconnecting after a broken connection or a timeout.
async fn worker(shared: Arc<Shared>, mut rng: SmallRng) -> Stats {
    let mut stats = Stats::default();
    while Instant::now() < shared.until {
        let mut sender = match connect(shared.addr).await {
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
            let started = Instant::now();
            if started >= shared.until {
                break;
            }
            let body = pick(&shared, &mut rng);
            let deadline = (started + shared.timeout).min(shared.until);
            let exchange =
                tokio::time::timeout_at(deadline.into(), send(&mut sender, &shared, body));
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
                    if measured {
                        answer::record(&mut stats, latency, status, &bytes);
                    }
                }
            }
        }
    }
    stats
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

fn pick(shared: &Shared, rng: &mut SmallRng) -> Bytes {
    let count = shared.bodies.len();
    let index = match &shared.zipf {
        // Ranks are 1..=count as floats; rank 1 is the file's first id.
        Some(zipf) => (zipf.sample(rng) as usize).saturating_sub(1),
        None => rng.random_range(0..count),
    };
    shared
        .bodies
        .get(index.min(count.saturating_sub(1)))
        .cloned()
        .unwrap_or_default()
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    shared: &Shared,
    body: Bytes,
) -> Result<(StatusCode, Bytes), hyper::Error> {
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = shared.path.clone();
    *request.headers_mut() = shared.headers.clone();
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}
