//! Resources served at more than one group-version over one storage version.
//!
//! A served version that is not the storage version carries a [`Conversion`] on its
//! [`ResourceType`](crate::registry::ResourceType): every object read from the store is converted
//! to the requested version before anything else sees it (get, list, watch, Table, the old
//! object a write starts from), and every object written is converted back just before it is
//! stored. The request pipeline (schema checks, defaulting, validation, patches, managed fields)
//! therefore runs in the requested version's terms, and label and field selectors are matched
//! against the stored form, their field labels renamed by [`Conversion::storage_field`].
//!
//! The conversions themselves are typed functions between k8s-openapi structs
//! ([`Typed`]), the JSON going through a serde round trip on either side:
//! - [`autoscaling`]: autoscaling/v1 HorizontalPodAutoscaler over the stored autoscaling/v2 one;
//! - [`events`]: events.k8s.io/v1 Event over the stored core/v1 Event.

pub mod autoscaling;
mod autoscaling_metrics;
pub mod events;
#[cfg(test)]
mod tests;

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Why an object could not be converted between versions.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// The object does not decode as its version's type.
    #[error("{api_version} {kind} could not be decoded for conversion: {source}")]
    Decode {
        /// The version the object was in.
        api_version: &'static str,
        /// Its kind.
        kind: &'static str,
        /// The decoding failure.
        #[source]
        source: serde_json::Error,
    },
    /// The converted object does not encode as JSON.
    #[error("{api_version} {kind} could not be encoded after conversion: {source}")]
    Encode {
        /// The version converted to.
        api_version: &'static str,
        /// Its kind.
        kind: &'static str,
        /// The encoding failure.
        #[source]
        source: serde_json::Error,
    },
    /// An annotation that carries fields of another version does not hold them.
    #[error("annotation {annotation} does not hold valid JSON: {source}")]
    Annotation {
        /// The annotation key.
        annotation: &'static str,
        /// The decoding failure.
        #[source]
        source: serde_json::Error,
    },
}

/// The pair of conversions between one served version and the storage version of a resource.
pub trait Conversion: Send + Sync {
    /// `served` (an object of the served version) as the storage version stores it, with the
    /// storage version's defaults applied.
    ///
    /// # Errors
    /// When the object does not decode as the served type or cannot be converted.
    fn to_storage(&self, served: Value) -> Result<Value, ConversionError>;

    /// `stored` (an object of the storage version) as the served version shows it.
    ///
    /// # Errors
    /// When the object does not decode as the storage type or cannot be converted.
    fn to_served(&self, stored: Value) -> Result<Value, ConversionError>;

    /// The stored object's field a field-selector label of the served version selects on;
    /// labels not renamed select the same field.
    fn storage_field<'a>(&self, label: &'a str) -> &'a str {
        label
    }
}

/// The conversion functions of one served type `S` and its storage type `T`.
pub struct Typed<S, T> {
    to_storage: fn(S) -> Result<T, ConversionError>,
    to_served: fn(T) -> Result<S, ConversionError>,
    storage_defaults: fn(&mut Value),
    field_labels: &'static [(&'static str, &'static str)],
    _types: PhantomData<fn() -> (S, T)>,
}

impl<S, T> Typed<S, T> {
    /// Converts with `to_storage` and `to_served`, defaulting stored objects with
    /// `storage_defaults` and renaming the served version's field labels by `field_labels`
    /// (`(served, stored)` pairs).
    pub fn new(
        to_storage: fn(S) -> Result<T, ConversionError>,
        to_served: fn(T) -> Result<S, ConversionError>,
        storage_defaults: fn(&mut Value),
        field_labels: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            to_storage,
            to_served,
            storage_defaults,
            field_labels,
            _types: PhantomData,
        }
    }
}

fn decode<K: k8s_openapi::Resource + DeserializeOwned>(obj: Value) -> Result<K, ConversionError> {
    serde_json::from_value(obj).map_err(|source| ConversionError::Decode {
        api_version: K::API_VERSION,
        kind: K::KIND,
        source,
    })
}

fn encode<K: k8s_openapi::Resource + Serialize>(obj: &K) -> Result<Value, ConversionError> {
    serde_json::to_value(obj).map_err(|source| ConversionError::Encode {
        api_version: K::API_VERSION,
        kind: K::KIND,
        source,
    })
}

impl<S, T> Conversion for Typed<S, T>
where
    S: k8s_openapi::Resource + DeserializeOwned + Serialize,
    T: k8s_openapi::Resource + DeserializeOwned + Serialize,
{
    fn to_storage(&self, served: Value) -> Result<Value, ConversionError> {
        let stored = (self.to_storage)(decode::<S>(served)?)?;
        let mut value = encode(&stored)?;
        (self.storage_defaults)(&mut value);
        Ok(value)
    }

    fn to_served(&self, stored: Value) -> Result<Value, ConversionError> {
        encode(&(self.to_served)(decode::<T>(stored)?)?)
    }

    fn storage_field<'a>(&self, label: &'a str) -> &'a str {
        self.field_labels
            .iter()
            .find(|(served, _)| *served == label)
            .map_or(label, |(_, stored)| stored)
    }
}
