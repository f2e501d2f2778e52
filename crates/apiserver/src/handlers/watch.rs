//! Watch: initial state, then changes from the watch cache, as newline-delimited JSON events.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{header, StatusCode};
use rudder_store::EventKind;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::read::{list_page, Filter};
use super::request::{representation, Representation};
use super::{write_served, Ctx};
use crate::error::ApiError;
use crate::raw::{RawObject, Shape};
use crate::registry::ResourceType;
use crate::selectors::FieldSelector;
use crate::storage::ReadAt;
use crate::table::IncludeObject;
use crate::watch_cache::{CachedEvent, Live, Subscription};

/// Default watch length when the client gives no `timeoutSeconds` (upstream picks 30–60 min).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often a bookmark is sent to clients that allow them.
const BOOKMARK_EVERY: Duration = Duration::from_secs(15);

/// What a watcher's events carry.
#[derive(Debug, Clone, Copy)]
enum Carries {
    /// The object as served.
    Object,
    /// A one-row Table.
    Table(IncludeObject),
    /// The object's PartialObjectMetadata.
    Metadata,
}

/// How one watcher encodes events.
struct Encoder {
    rt: Arc<ResourceType>,
    api_version: String,
    carries: Carries,
}

impl Encoder {
    /// A BOOKMARK or ERROR event line.
    fn line(&self, kind: &str, object: &Value) -> Bytes {
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    /// The line of a change to a stored object: the object as served (or its Table row); an
    /// ERROR event when it cannot be decoded or converted.
    fn event(&self, kind: &str, key: &str, object: &RawObject) -> Bytes {
        self.try_event(kind, key, object)
            .unwrap_or_else(|e| self.line("ERROR", &e.to_status()))
    }

    fn try_event(&self, kind: &str, key: &str, object: &RawObject) -> Result<Bytes, ApiError> {
        if let Carries::Metadata = self.carries {
            return Ok(self.line(kind, &object.partial_metadata(key)?));
        }
        if let Carries::Table(include) = self.carries {
            let object = object.decode(key)?;
            let rv = crate::meta::str_at(&object, "/metadata/resourceVersion");
            let table = super::table_of(
                &self.rt,
                std::slice::from_ref(&object),
                include,
                json!({"resourceVersion": rv}),
            );
            return Ok(self.line(kind, &table));
        }
        let mut line = Vec::with_capacity(object.value.len() + 64);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        write_served(
            &mut line,
            &self.rt,
            &self.api_version,
            key,
            object,
            Shape::Object,
        )?;
        line.extend_from_slice(b"}\n");
        Ok(Bytes::from(line))
    }

    fn bookmark(&self, revision: i64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.line("BOOKMARK", &json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}))
    }
}

/// The event type a watcher sees for a change, given its selectors (objects moving in or out
/// of the selection appear as ADDED or DELETED).
fn event_type(event: &CachedEvent, filter: &Filter) -> Option<&'static str> {
    // An object a selector cannot read (not JSON) is outside every selection.
    let keeps = |raw: &RawObject| filter.keeps(&event.key, raw).unwrap_or(false);
    let now = keeps(&event.object);
    match event.kind {
        EventKind::Delete => now.then_some("DELETED"),
        EventKind::Put => {
            let before = event.prev.as_ref().is_some_and(keeps);
            match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    }
}

/// GET with `watch=true`.
pub(crate) async fn watch(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let mut filter = Filter::from_ctx(ctx)?;
    if let Some(name) = &ctx.path.name {
        filter.fields = FieldSelector::parse(
            &format!("metadata.name={name}"),
            &ctx.rt.group,
            &ctx.rt.kind,
        )?;
    }
    let encoder = Encoder {
        rt: ctx.rt.clone(),
        api_version: ctx.rt.api_version(),
        carries: match representation(&ctx.headers) {
            Representation::Table => {
                Carries::Table(IncludeObject::parse(ctx.query.get("includeObject")))
            }
            Representation::Metadata => Carries::Metadata,
            Representation::Json | Representation::Yaml => Carries::Object,
        },
    };
    let timeout = ctx
        .query
        .int("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map_or(DEFAULT_TIMEOUT, |t| Duration::from_secs(t as u64));
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let rv = ctx.query.get("resourceVersion").filter(|v| !v.is_empty());
    let explicit_initial = ctx.query.get("sendInitialEvents").map(|v| v == "true");
    let send_initial = explicit_initial.unwrap_or(matches!(rv, None | Some("0")));
    let prefix = ctx.rt.prefix(ctx.path.namespace.as_deref());

    let mut first: Vec<Bytes> = Vec::new();
    let from = if send_initial {
        let page = list_page(ctx, &prefix, 0, &filter, None, ReadAt::Latest).await?;
        first.extend(
            page.items
                .iter()
                .map(|o| encoder.event("ADDED", &prefix, o)),
        );
        if explicit_initial == Some(true) {
            first.push(encoder.bookmark(page.revision, true));
        }
        page.revision
    } else {
        let rv = rv.unwrap_or("0");
        rv.parse::<i64>()
            .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {rv}")))?
    };

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    match ctx.state.watch_cache.subscribe(from, &prefix) {
        Ok(subscription) => {
            let shutdown = ctx.state.shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(timeout) => {}
                    _ = pump(tx, first, subscription, from, prefix, filter, encoder, bookmarks) => {}
                }
            });
        }
        Err(e) => {
            // A watch that cannot start from its resourceVersion answers 200 with one ERROR event.
            let _ = tx.try_send(encoder.line("ERROR", &e.to_status()));
        }
    }
    let body = Body::from_stream(futures::StreamExt::map(
        ReceiverStream::new(rx),
        Ok::<Bytes, std::convert::Infallible>,
    ));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Sends the initial events, then replayed and live ones, until the client goes away.
#[allow(clippy::too_many_arguments)]
async fn pump(
    tx: mpsc::Sender<Bytes>,
    first: Vec<Bytes>,
    subscription: Subscription,
    from: i64,
    prefix: String,
    filter: Filter,
    encoder: Encoder,
    bookmarks: bool,
) {
    for line in first {
        if tx.send(line).await.is_err() {
            return;
        }
    }
    let Subscription { replay, mut live } = subscription;
    let mut sent = from;
    for event in replay {
        if !send_event(&tx, &event, &filter, &encoder, &mut sent).await {
            return;
        }
    }
    let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick(), if bookmarks => {
                if tx.send(encoder.bookmark(sent, false)).await.is_err() {
                    return;
                }
            }
            next = live.recv() => match next {
                Ok(Live::Event(event)) => {
                    if event.key.starts_with(&prefix) && !send_event(&tx, &event, &filter, &encoder, &mut sent).await {
                        return;
                    }
                    sent = sent.max(event.revision);
                }
                Ok(Live::Reset) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    let gone = ApiError::Gone { requested: sent, oldest: sent };
                    let _ = tx.send(encoder.line("ERROR", &gone.to_status())).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tx.closed() => return,
        }
    }
}

/// Sends one event if it is new to this watcher and passes its selectors; false once the
/// client is gone.
async fn send_event(
    tx: &mpsc::Sender<Bytes>,
    event: &CachedEvent,
    filter: &Filter,
    encoder: &Encoder,
    sent: &mut i64,
) -> bool {
    if event.revision <= *sent {
        return true;
    }
    *sent = event.revision;
    let Some(kind) = event_type(event, filter) else {
        return true;
    };
    let line = encoder.event(kind, &event.key, &event.object);
    tx.send(line).await.is_ok()
}
