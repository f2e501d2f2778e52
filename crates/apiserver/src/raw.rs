//! Stored objects served without a parse/serialise round trip.
//!
//! The store holds every object as compact JSON without `metadata.resourceVersion` (the store's
//! revision is the truth, see [`crate::storage::encode`]). Serving one means adding its
//! resourceVersion and, for list items, leaving out `apiVersion` and `kind`. When the stored
//! bytes already are the version the request asks for, [`splice`] does that by copying byte
//! ranges around the one inserted field. Anything else — a stored `apiVersion` that differs
//! from the served one (a conversion is needed), or JSON of an unexpected shape — makes
//! [`splice`] decline, and the caller takes the decoding path ([`RawObject::decode`]).

use std::ops::Range;

use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;

/// One stored object: its JSON bytes (shared with the store and the watch cache) and the
/// revision that is its resourceVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// The stored JSON, without `metadata.resourceVersion`.
    pub value: Bytes,
    /// The resourceVersion: the store's mod revision (for a deletion, the delete's revision).
    pub revision: i64,
    /// Where [`splice`] cuts the bytes, when found ahead (see [`RawObject::indexed`]).
    layout: Option<Layout>,
}

impl RawObject {
    /// A stored object; [`splice`] scans its bytes each time it serves it.
    pub fn new(value: Bytes, revision: i64) -> Self {
        Self {
            value,
            revision,
            layout: None,
        }
    }

    /// A stored object whose cut points are found now, once, so that serving it (again and
    /// again, from the watch cache) only copies bytes.
    pub fn indexed(value: Bytes, revision: i64) -> Self {
        let layout = Layout::of(&value);
        Self {
            value,
            revision,
            layout,
        }
    }

    /// The same bytes at another revision (a deleted object's last state at the delete's).
    pub fn at(&self, revision: i64) -> Self {
        Self {
            revision,
            ..self.clone()
        }
    }

    /// The object decoded, its resourceVersion set.
    ///
    /// # Errors
    /// [`ApiError::CorruptObject`] when the bytes are not JSON.
    pub fn decode(&self, key: &str) -> Result<Value, ApiError> {
        crate::storage::decode(key, &self.value, self.revision)
    }

    /// The object's PartialObjectMetadata, its resourceVersion set; only `metadata` is parsed.
    ///
    /// # Errors
    /// [`ApiError::CorruptObject`] when the bytes are not JSON.
    pub fn partial_metadata(&self, key: &str) -> Result<Value, ApiError> {
        #[derive(serde::Deserialize)]
        struct MetadataOnly {
            #[serde(default)]
            metadata: serde_json::Map<String, Value>,
        }
        let only: MetadataOnly =
            serde_json::from_slice(&self.value).map_err(|source| ApiError::CorruptObject {
                key: key.to_owned(),
                source,
            })?;
        let mut metadata = only.metadata;
        metadata.insert(
            "resourceVersion".to_owned(),
            Value::String(self.revision.to_string()),
        );
        Ok(crate::meta::partial_object_metadata(Value::Object(
            metadata,
        )))
    }
}

/// The cut points of an object whose bytes start with `apiVersion` and `kind`, as every
/// stored object's do (`metadata` may come anywhere after them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// The `apiVersion` value, quotes included.
    api_version: (u32, u32),
    /// The opening quote of the member after `kind`: where a list item starts.
    after_type: u32,
    /// The closing brace of `metadata`.
    metadata_close: u32,
    metadata_empty: bool,
}

impl Layout {
    fn of(raw: &[u8]) -> Option<Layout> {
        let plan = Plan::of(raw)?;
        let offset = |at: usize| u32::try_from(at).ok();
        match &plan.members[..] {
            [version, kind, next, ..]
                if &raw[version.key.clone()] == b"apiVersion"
                    && &raw[kind.key.clone()] == b"kind" =>
            {
                Some(Layout {
                    api_version: (offset(version.value.start)?, offset(version.value.end)?),
                    after_type: offset(next.key.start - 1)?,
                    metadata_close: offset(plan.metadata_close)?,
                    metadata_empty: plan.metadata_empty,
                })
            }
            _ => None,
        }
    }
}

/// Whether `value` (quotes included) is the JSON string `api_version`.
fn is_version(value: &[u8], api_version: &str) -> bool {
    value.len() == api_version.len() + 2
        && value.first() == Some(&b'"')
        && value.get(1..value.len() - 1) == Some(api_version.as_bytes())
}

/// Where a spliced object goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A whole object (a get, a write's answer, a watch event): `apiVersion` and `kind` kept.
    Object,
    /// An item of a list: `apiVersion` and `kind` left out, as upstream encodes list items.
    ListItem,
}

/// Appends `object` to `out` as served at `api_version`, its resourceVersion added.
///
/// Returns false, leaving `out` untouched, when the bytes cannot be served as they are: the
/// stored `apiVersion` is not `api_version`, there is no `metadata` object, it already has a
/// `resourceVersion`, or the JSON does not scan.
pub fn splice(out: &mut Vec<u8>, object: &RawObject, api_version: &str, shape: Shape) -> bool {
    let raw = &object.value[..];
    let mut rv = itoa::Buffer::new();
    let rv = rv.format(object.revision).as_bytes();
    if let Some(layout) = object.layout {
        let (from, to) = (layout.api_version.0 as usize, layout.api_version.1 as usize);
        if !raw
            .get(from..to)
            .is_some_and(|v| is_version(v, api_version))
        {
            return false;
        }
        let close = layout.metadata_close as usize;
        out.reserve(raw.len() + 32);
        match shape {
            Shape::Object => out.extend_from_slice(&raw[..close]),
            Shape::ListItem => {
                out.push(b'{');
                out.extend_from_slice(&raw[layout.after_type as usize..close]);
            }
        }
        insert_resource_version(out, rv, layout.metadata_empty);
        out.extend_from_slice(&raw[close..]);
        return true;
    }
    let Some(plan) = Plan::of(raw) else {
        return false;
    };
    let version = plan
        .members
        .iter()
        .find(|m| &raw[m.key.clone()] == b"apiVersion");
    if !version.is_some_and(|m| is_version(&raw[m.value.clone()], api_version)) {
        return false;
    }
    out.reserve(raw.len() + 32);
    match shape {
        Shape::Object => {
            out.extend_from_slice(&raw[..plan.metadata_close]);
            insert_resource_version(out, rv, plan.metadata_empty);
            out.extend_from_slice(&raw[plan.metadata_close..]);
        }
        Shape::ListItem => {
            out.push(b'{');
            let mut first = true;
            for member in &plan.members {
                let key = &raw[member.key.clone()];
                if key == b"apiVersion" || key == b"kind" {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                // From the key's opening quote to the end of the value.
                let span = member.key.start - 1..member.value.end;
                if key == b"metadata" {
                    out.extend_from_slice(&raw[span.start..plan.metadata_close]);
                    insert_resource_version(out, rv, plan.metadata_empty);
                    out.extend_from_slice(&raw[plan.metadata_close..span.end]);
                } else {
                    out.extend_from_slice(&raw[span]);
                }
            }
            // The unscanned members (each after a comma) and the closing brace; `metadata`
            // was written, so a leading comma has a member before it.
            out.extend_from_slice(&raw[plan.rest..]);
        }
    }
    true
}

/// Appends the `resourceVersion` member at the end of a metadata object being written.
fn insert_resource_version(out: &mut Vec<u8>, rv: &[u8], metadata_empty: bool) {
    if metadata_empty {
        out.extend_from_slice(b"\"resourceVersion\":\"");
    } else {
        out.extend_from_slice(b",\"resourceVersion\":\"");
    }
    out.extend_from_slice(rv);
    out.push(b'"');
}

/// What [`splice`] needs to know about an object's bytes, found by scanning them.
struct Plan {
    /// The top-level members up to the last of `apiVersion`, `kind` and `metadata`; the rest
    /// of the object follows `rest` verbatim.
    members: Vec<Member>,
    /// Where the members after `members` start (the comma before the next member, or the
    /// closing brace).
    rest: usize,
    /// The offset of the closing brace of `metadata`.
    metadata_close: usize,
    metadata_empty: bool,
}

impl Plan {
    /// Scans the top-level members until `apiVersion`, `kind` and `metadata` were all seen
    /// (stored objects start with them, so the bulk of the object is never scanned), and the
    /// members of `metadata`.
    fn of(raw: &[u8]) -> Option<Plan> {
        let mut scanner = Scanner::new(raw);
        scanner.expect(b'{')?;
        let mut members = Vec::new();
        let (mut version_seen, mut kind_seen) = (false, false);
        let mut metadata: Option<(usize, bool)> = None;
        if scanner.peek()? == b'}' {
            return None;
        }
        loop {
            let key = scanner.string()?;
            scanner.expect(b':')?;
            scanner.skip_whitespace();
            let start = scanner.at;
            match &raw[key.clone()] {
                b"metadata" => {
                    let inner = scanner.members()?;
                    let has_rv = inner
                        .iter()
                        .any(|m| &raw[m.key.clone()] == b"resourceVersion");
                    if has_rv || metadata.is_some() {
                        return None;
                    }
                    metadata = Some((scanner.at - 1, inner.is_empty()));
                }
                b"apiVersion" => {
                    scanner.value()?;
                    version_seen = true;
                }
                b"kind" => {
                    scanner.value()?;
                    kind_seen = true;
                }
                _ => scanner.value()?,
            }
            members.push(Member {
                key,
                value: start..scanner.at,
            });
            let rest = scanner.at;
            match scanner.peek()? {
                b',' if !(version_seen && kind_seen && metadata.is_some()) => scanner.at += 1,
                b',' | b'}' => {
                    let (metadata_close, metadata_empty) = metadata?;
                    return Some(Plan {
                        members,
                        rest,
                        metadata_close,
                        metadata_empty,
                    });
                }
                _ => return None,
            }
        }
    }
}

/// One member of a JSON object: its key (inside the quotes) and its value, as byte ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

/// A forward-only scanner over JSON that finds value boundaries without decoding.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The members of the object at the cursor (key ranges absolute); leaves the cursor after
    /// its closing brace.
    fn members(&mut self) -> Option<Vec<Member>> {
        let mut members = Vec::new();
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(members);
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            self.skip_whitespace();
            let start = self.at;
            self.value()?;
            members.push(Member {
                key,
                value: start..self.at,
            });
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(members);
                }
                _ => return None,
            }
        }
    }

    /// Skips a string; returns the range between its quotes.
    fn string(&mut self) -> Option<Range<usize>> {
        self.expect(b'"')?;
        let start = self.at;
        // Most strings are short: a plain loop beats setting up a vectorized search.
        let short_end = self.bytes.len().min(self.at + 32);
        while self.at < short_end {
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Some(start..self.at - 1);
                }
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
        loop {
            let offset = memchr::memchr2(b'"', b'\\', self.bytes.get(self.at..)?)?;
            self.at += offset;
            if self.bytes[self.at] == b'\\' {
                self.at += 2;
            } else {
                self.at += 1;
                return Some(start..self.at - 1);
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.container(),
            _ => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                }) {
                    self.at += 1;
                }
                (self.at > start).then_some(())
            }
        }
    }

    /// Skips an object or array, counting brackets outside strings.
    fn container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Splices `raw` both ways (scanned, and with its layout found ahead), which must agree.
    fn spliced(raw: &Value, revision: i64, api_version: &str, shape: Shape) -> Option<Value> {
        let bytes = Bytes::from(serde_json::to_vec(raw).ok()?);
        let mut outs = Vec::new();
        for object in [
            RawObject::new(bytes.clone(), revision),
            RawObject::indexed(bytes, revision),
        ] {
            let mut out = b"x".to_vec();
            if !splice(&mut out, &object, api_version, shape) {
                assert_eq!(out, b"x", "a declined splice writes nothing");
                outs.push(None);
            } else {
                outs.push(Some(out[1..].to_vec()));
            }
        }
        assert_eq!(outs[0], outs[1], "the layout and the scan cut alike");
        serde_json::from_slice(outs[0].as_ref()?).ok()
    }

    fn splices(bytes: &[u8], revision: i64, api_version: &str, shape: Shape) -> Option<Vec<u8>> {
        let bytes = Bytes::copy_from_slice(bytes);
        let mut out = Vec::new();
        splice(
            &mut out,
            &RawObject::indexed(bytes, revision),
            api_version,
            shape,
        )
        .then_some(out)
    }

    fn stored() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "}{\"]["}},
            "data": {"k": "v\\\"}", "n": [1, {"m": null}], "t": true, "f": -1.5e3},
        })
    }

    #[test]
    fn an_object_gets_its_resource_version_and_nothing_else_changes() {
        let mut want = stored();
        want["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(spliced(&stored(), 42, "v1", Shape::Object), Some(want));
    }

    #[test]
    fn a_spliced_object_is_byte_identical_to_the_decoded_and_reencoded_one() {
        let bytes = serde_json::to_vec(&stored()).unwrap_or_default();
        let out = splices(&bytes, 7, "v1", Shape::Object);
        let decoded = crate::storage::decode("k", &bytes, 7).ok();
        assert_eq!(out, decoded.and_then(|v| serde_json::to_vec(&v).ok()));
    }

    #[test]
    fn a_list_item_leaves_out_api_version_and_kind() {
        let mut want = stored();
        want["metadata"]["resourceVersion"] = json!("9");
        if let Some(map) = want.as_object_mut() {
            map.shift_remove("apiVersion");
            map.shift_remove("kind");
        }
        assert_eq!(spliced(&stored(), 9, "v1", Shape::ListItem), Some(want));
    }

    #[test]
    fn a_list_item_is_byte_identical_to_the_decoded_one_without_its_type() {
        let unusual = json!({"data": {"a": "b"}, "kind": "K", "metadata": {"name": "a"}, "apiVersion": "v1", "z": 1});
        for raw in [stored(), unusual] {
            let bytes = serde_json::to_vec(&raw).unwrap_or_default();
            let out = splices(&bytes, 7, "v1", Shape::ListItem);
            let decoded = crate::storage::decode("k", &bytes, 7).ok();
            let want = decoded.map(crate::handlers::strip_type);
            assert_eq!(out, want.and_then(|v| serde_json::to_vec(&v).ok()));
        }
    }

    #[test]
    fn stored_objects_get_their_cut_points_ahead_wherever_metadata_is() {
        let typed_order = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "}"}, "metadata": {"name": "a"}});
        for raw in [stored(), typed_order] {
            let bytes = Bytes::from(serde_json::to_vec(&raw).unwrap_or_default());
            assert!(RawObject::indexed(bytes, 1).layout.is_some(), "{raw}");
            let mut want = raw.clone();
            want["metadata"]["resourceVersion"] = json!("1");
            assert_eq!(spliced(&raw, 1, "v1", Shape::Object), Some(want.clone()));
            let want = crate::handlers::strip_type(want);
            assert_eq!(spliced(&raw, 1, "v1", Shape::ListItem), Some(want));
        }
    }

    #[test]
    fn empty_metadata_gets_a_resource_version_without_a_leading_comma() {
        let raw = json!({"apiVersion": "v1", "metadata": {}});
        let want = json!({"apiVersion": "v1", "metadata": {"resourceVersion": "3"}});
        assert_eq!(spliced(&raw, 3, "v1", Shape::Object), Some(want));
    }

    #[test]
    fn another_stored_version_needs_the_decoding_path() {
        let raw = json!({"apiVersion": "stable.example.com/v1", "metadata": {"name": "a"}});
        assert_eq!(
            spliced(&raw, 3, "stable.example.com/v2", Shape::Object),
            None
        );
        assert_eq!(
            spliced(&raw, 3, "stable.example.com/v2", Shape::ListItem),
            None
        );
        assert!(spliced(&raw, 3, "stable.example.com/v1", Shape::ListItem).is_some());
    }

    #[test]
    fn unexpected_shapes_need_the_decoding_path() {
        for raw in [
            json!({"apiVersion": "v1"}),
            json!({"apiVersion": "v1", "metadata": "x"}),
            json!({"apiVersion": "v1", "metadata": {"resourceVersion": "1"}}),
            json!(["v1"]),
        ] {
            assert_eq!(spliced(&raw, 3, "v1", Shape::Object), None, "{raw}");
        }
        for broken in [
            &b"{\"apiVersion\":\"v1\",\"metadata\":{}"[..],
            b"not json",
            b"",
        ] {
            assert_eq!(splices(broken, 1, "v1", Shape::Object), None);
        }
    }
}
