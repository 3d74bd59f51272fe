//! Logging and, with the `otel` feature, OpenTelemetry trace export.
//!
//! Spans: `request` (one per HTTP request: id, method, path), `loader_batch` (batch size) and
//! `bloc_call` (endpoint template). None carries PII: no ids, variables or results.

use std::io::IsTerminal;

use tracing_subscriber::{
    EnvFilter, Layer, Registry, layer::SubscriberExt, util::SubscriberInitExt,
};

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Flushes exported spans when dropped (at the end of `main`).
pub struct Guard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber: logs to stderr in `format`, filtered by `filter`, and
/// spans to an OTLP/HTTP collector at `otlp_endpoint` when one is given.
pub fn init(filter: &str, format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Guard, String> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs: BoxedLayer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    #[cfg_attr(not(feature = "otel"), allow(unused_mut))]
    let mut layers = vec![logs];
    #[cfg(feature = "otel")]
    let mut guard = Guard { provider: None };
    #[cfg(not(feature = "otel"))]
    let guard = Guard {};
    if let Some(endpoint) = otlp_endpoint {
        #[cfg(feature = "otel")]
        {
            let (layer, provider) = otel_layer(endpoint)?;
            layers.push(layer);
            guard.provider = Some(provider);
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = endpoint;
            return Err("--otlp-endpoint needs a build with `--features otel`".into());
        }
    }
    tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .init();
    Ok(guard)
}

#[cfg(feature = "otel")]
fn otel_layer(
    endpoint: &str,
) -> Result<(BoxedLayer, opentelemetry_sdk::trace::SdkTracerProvider), String> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("cannot set up OTLP export: {e}"))?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("bloc-graphql")
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("bloc-graphql"))
        .boxed();
    Ok((layer, provider))
}
