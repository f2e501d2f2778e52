//! gzip for large responses, as upstream does it: only when the client sends
//! `Accept-Encoding: gzip` and the whole body is known and at least [`MIN_COMPRESSED_SIZE`],
//! at the fastest level.
//!
//! Streamed bodies (watches, whose size is unknown) are never compressed, so every watch event
//! still reaches the client as soon as it is written.

use http_body::Body;
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Upstream compresses responses of 128 KiB and more (`defaultGzipThresholdBytes`).
pub const MIN_COMPRESSED_SIZE: u64 = 128 * 1024;

/// Compress only bodies whose exact size is known and at least a threshold.
#[derive(Debug, Clone, Copy)]
pub struct WholeBodyAtLeast(pub u64);

impl Predicate for WholeBodyAtLeast {
    fn should_compress<B: Body>(&self, response: &http::Response<B>) -> bool {
        response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|size| size >= self.0)
    }
}

/// The compression layer of the API server's router: gzip only, above 128 KiB, at level 1
/// (upstream's `defaultGzipContentEncodingLevel`: far less CPU than the default level for a
/// ratio within about 1.1x of it, which matters on a two-core control plane).
pub fn layer() -> CompressionLayer<WholeBodyAtLeast> {
    CompressionLayer::new()
        .gzip(true)
        .quality(CompressionLevel::Fastest)
        .compress_when(WholeBodyAtLeast(MIN_COMPRESSED_SIZE))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use futures::StreamExt;
    use http::{header, Request};
    use tower::ServiceExt;

    use super::*;

    const BIG: usize = MIN_COMPRESSED_SIZE as usize + 1;

    fn app() -> Router {
        Router::new()
            .route("/big", get(|| async { "x".repeat(BIG) }))
            .route("/small", get(|| async { "x".repeat(1024) }))
            .route(
                "/stream",
                get(|| async {
                    let events = ["{\"type\":\"ADDED\"}\n", "{\"type\":\"MODIFIED\"}\n"]
                        .map(|e| Ok::<_, std::io::Error>(bytes::Bytes::from(e.repeat(10_000))));
                    Body::from_stream(futures::stream::iter(events))
                }),
            )
            .layer(layer())
    }

    async fn fetch(path: &str, gzip: bool) -> http::Response<Body> {
        let mut request = Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        let response = app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.map(Body::new)
    }

    async fn body_len(response: http::Response<Body>) -> usize {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn large_bodies_are_gzipped_when_the_client_asks() {
        let response = fetch("/big", true).await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let compressed = body_len(response).await;
        assert!(compressed < BIG / 10, "{compressed} bytes");
    }

    #[tokio::test]
    async fn nothing_is_gzipped_unless_asked() {
        let response = fetch("/big", false).await;
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_len(response).await, BIG);
    }

    #[tokio::test]
    async fn small_bodies_are_sent_as_they_are() {
        let response = fetch("/small", true).await;
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_len(response).await, 1024);
    }

    #[tokio::test]
    async fn streams_pass_through_chunk_by_chunk() {
        let response = fetch("/stream", true).await;
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        let mut chunks = response.into_body().into_data_stream();
        let first = chunks.next().await.unwrap().unwrap();
        assert!(first.starts_with(b"{\"type\":\"ADDED\"}\n"));
        assert_eq!(first.len(), "{\"type\":\"ADDED\"}\n".len() * 10_000);
    }
}
