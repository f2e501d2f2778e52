//! events.k8s.io/v1 Event over the stored core/v1 Event, as upstream converts both through its
//! internal Event: `note` is `message`, `regarding` is `involvedObject`, `reportingController` is
//! `reportingComponent`, and the `deprecated*` fields are the core type's source, timestamps and
//! count; everything else has the same name.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;

use super::Typed;

/// The field labels events.k8s.io/v1 selects on that name a different core/v1 field.
pub const FIELD_LABELS: &[(&str, &str)] = &[
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
];

/// The conversion of events.k8s.io/v1 Events stored as core/v1 Events.
pub fn conversion() -> Typed<events::Event, core::Event> {
    Typed::new(
        |e| Ok(to_core(e)),
        |e| Ok(from_core(e)),
        |_| {},
        FIELD_LABELS,
    )
}

/// An events.k8s.io/v1 Event as core/v1 stores it.
pub fn to_core(event: events::Event) -> core::Event {
    core::Event {
        action: event.action,
        count: event.deprecated_count,
        event_time: event.event_time,
        first_timestamp: event.deprecated_first_timestamp,
        involved_object: event.regarding.unwrap_or_default(),
        last_timestamp: event.deprecated_last_timestamp,
        message: event.note,
        metadata: event.metadata,
        reason: event.reason,
        related: event.related,
        reporting_component: event.reporting_controller,
        reporting_instance: event.reporting_instance,
        series: event.series.map(|s| core::EventSeries {
            count: Some(s.count),
            last_observed_time: Some(s.last_observed_time),
        }),
        source: event.deprecated_source,
        type_: event.type_,
    }
}

/// A stored core/v1 Event as events.k8s.io/v1 shows it. A series without its last observed
/// time (only old core/v1 writers leave it out) is shown from the event's own time.
pub fn from_core(event: core::Event) -> events::Event {
    let series_time = event.event_time.clone();
    events::Event {
        action: event.action,
        deprecated_count: event.count,
        deprecated_first_timestamp: event.first_timestamp,
        deprecated_last_timestamp: event.last_timestamp,
        deprecated_source: event.source,
        event_time: event.event_time,
        metadata: event.metadata,
        note: event.message,
        reason: event.reason,
        regarding: Some(event.involved_object),
        related: event.related,
        reporting_controller: event.reporting_component,
        reporting_instance: event.reporting_instance,
        series: event.series.and_then(|s| {
            Some(events::EventSeries {
                count: s.count.unwrap_or_default(),
                last_observed_time: s.last_observed_time.or(series_time)?,
            })
        }),
        type_: event.type_,
    }
}
