//! The GraphiQL page, its assets, and the page's security headers.
//!
//! GraphiQL, React and ReactDOM are production builds at exact versions, each pinned by its
//! Subresource Integrity hash. By default the browser fetches them from unpkg; with
//! `--graphiql-assets DIR` the facade serves the same files itself (checked against the same
//! hashes when it starts), and the page's policy allows scripts from this origin only.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use aws_lc_rs::digest;
use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};

/// What the GraphiQL page loads and opens with.
#[derive(Debug, Clone, Default)]
pub struct GraphiqlConfig {
    /// A folder holding GraphiQL's pinned files (`--graphiql-assets`), served by the facade
    /// itself; without one, the browser loads them from unpkg.
    pub assets: Option<PathBuf>,
    /// A customer id for the default query (the sandbox's first customer).
    pub example_id: Option<String>,
    /// A working key for the headers tab. Only ever set in sandbox mode, whose data is fake.
    pub demo_key: Option<String>,
}

/// The page's own script and style, served from here so no inline script is needed.
pub(crate) const GRAPHIQL_JS: &str = include_str!("graphiql/graphiql.js");
pub(crate) const GRAPHIQL_CSS: &str = include_str!("graphiql/graphiql.css");

/// One pinned third-party file of the page.
pub struct Asset {
    /// Its name under `--graphiql-assets DIR` and under `/graphiql/`.
    pub file: &'static str,
    /// The npm package (`name@version`) and the file's path inside it.
    pub package: &'static str,
    /// Path of the file inside the package.
    pub path: &'static str,
    /// The Subresource Integrity hash (SHA-384, base64) of the published file.
    pub integrity: &'static str,
    content_type: &'static str,
}

/// GraphiQL's third-party files, in the order the page loads them.
pub const ASSETS: [Asset; 4] = [
    Asset {
        file: "graphiql.min.css",
        package: "graphiql@3.8.3",
        path: "graphiql.min.css",
        integrity: "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        file: "react.production.min.js",
        package: "react@18.3.1",
        path: "umd/react.production.min.js",
        integrity: "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        file: "react-dom.production.min.js",
        package: "react-dom@18.3.1",
        path: "umd/react-dom.production.min.js",
        integrity: "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        file: "graphiql.min.js",
        package: "graphiql@3.8.3",
        path: "graphiql.min.js",
        integrity: "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
        content_type: "text/javascript; charset=utf-8",
    },
];

/// The pinned files read from a folder, each checked against its hash.
#[derive(Clone)]
pub struct LocalAssets(HashMap<&'static str, Bytes>);

impl std::fmt::Debug for LocalAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LocalAssets").field(&self.0.len()).finish()
    }
}

impl LocalAssets {
    /// Reads every file of [`ASSETS`] from `dir`. A missing file or one whose SHA-384 is not
    /// the pinned one is an error naming the file and how to fill the folder.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut files = HashMap::new();
        for asset in &ASSETS {
            let path = dir.join(asset.file);
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "--graphiql-assets: cannot read {} ({e}); fill the folder with \
                     `scripts/graphiql-assets {}`",
                    path.display(),
                    dir.display()
                )
            })?;
            let hash = digest::digest(&digest::SHA384, &bytes);
            let integrity = format!("sha384-{}", STANDARD.encode(hash.as_ref()));
            if integrity != asset.integrity {
                return Err(format!(
                    "--graphiql-assets: {} is not {}/{} (its SHA-384 differs from the pinned one)",
                    path.display(),
                    asset.package,
                    asset.path
                ));
            }
            files.insert(asset.file, Bytes::from(bytes));
        }
        Ok(Self(files))
    }
}

/// The page may load scripts only from itself and the pinned CDN, talk only to itself, and
/// be framed by no one. GraphiQL sets style attributes, hence `'unsafe-inline'` for styles
/// (never for scripts).
const CDN_CSP: &str = "default-src 'none'; script-src 'self' https://unpkg.com; \
     style-src 'self' https://unpkg.com 'unsafe-inline'; font-src 'self' https://unpkg.com data:; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The same with every file served by the facade: nothing from anywhere else.
const LOCAL_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The rendered page and, with `--graphiql-assets`, the files it loads from here.
pub struct Page {
    html: String,
    csp: &'static str,
    assets: Option<LocalAssets>,
}

impl Page {
    /// Renders the page once, at start-up, reading and checking the pinned files when they
    /// are served from a folder.
    pub fn new(config: &GraphiqlConfig) -> Result<Self, String> {
        let assets = config
            .assets
            .as_deref()
            .map(LocalAssets::load)
            .transpose()?;
        let local = assets.is_some();
        let mut head = String::new();
        let mut scripts = String::new();
        for asset in &ASSETS {
            let src = if local {
                format!("/graphiql/{}", asset.file)
            } else {
                format!("https://unpkg.com/{}/{}", asset.package, asset.path)
            };
            if asset.file.ends_with(".css") {
                head.push_str(&format!(
                    "  <link rel=\"stylesheet\" href=\"{src}\" integrity=\"{}\" crossorigin=\"anonymous\">\n",
                    asset.integrity
                ));
            } else {
                scripts.push_str(&format!(
                    "  <script src=\"{src}\" integrity=\"{}\" crossorigin=\"anonymous\"></script>\n",
                    asset.integrity
                ));
            }
        }
        let attribute = |name: &str, value: &Option<String>| match value {
            Some(value) => format!(" data-{name}=\"{}\"", escape(value)),
            None => String::new(),
        };
        let html = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
             <title>bloc-graphql · GraphiQL</title>\n  \
             <link rel=\"icon\" href=\"data:,\">\n  \
             <!-- Production builds at exact versions, each checked by its Subresource Integrity hash. -->\n\
             {head}  <link rel=\"stylesheet\" href=\"/graphiql.css\">\n</head>\n<body>\n  \
             <div id=\"graphiql\"{example}{key}>Loading GraphiQL…</div>\n{scripts}  \
             <script src=\"/graphiql.js\"></script>\n</body>\n</html>\n",
            example = attribute("example-id", &config.example_id),
            key = attribute("demo-key", &config.demo_key),
        );
        Ok(Self {
            html,
            csp: if local { LOCAL_CSP } else { CDN_CSP },
            assets,
        })
    }

    /// The page itself.
    pub(crate) fn page(&self) -> Response {
        with_headers(self.html.clone(), "text/html; charset=utf-8", self.csp)
    }

    /// The page's own script or style.
    pub(crate) fn own(&self, body: &'static str, content_type: &'static str) -> Response {
        with_headers(body, content_type, self.csp)
    }

    /// A pinned file, when the facade serves them itself; 404 otherwise.
    pub(crate) fn asset(&self, file: &str) -> Response {
        let found = self.assets.as_ref().and_then(|assets| {
            let asset = ASSETS.iter().find(|a| a.file == file)?;
            Some((asset, assets.0.get(asset.file)?.clone()))
        });
        match found {
            Some((asset, bytes)) => {
                let mut response = with_headers(bytes, asset.content_type, self.csp);
                // The file behind a name never changes while the pin stays.
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                );
                response
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

fn with_headers(
    body: impl IntoResponse,
    content_type: &'static str,
    csp: &'static str,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Escapes text for an HTML attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
