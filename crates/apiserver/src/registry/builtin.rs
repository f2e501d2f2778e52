//! The built-in resource types, described once from their k8s-openapi structs.

use std::sync::Arc;

use k8s_openapi::api::{
    apps::v1 as apps, authentication::v1 as authentication, authorization::v1 as authorization,
    autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ResourceType, Subresources};
use crate::conversion::{self, Conversion};
use crate::strategy::review::{self as reviews, Review, ReviewStrategy};
use crate::strategy::{typed, Hooks, NameRule, Strategy};
use crate::table;

/// Maps a k8s-openapi scope type to "is namespaced".
trait ScopeFlag {
    const NAMESPACED: bool;
}

impl ScopeFlag for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl ScopeFlag for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

const NONE: Subresources = Subresources {
    status: false,
    scale: false,
    binding: false,
    eviction: false,
};
const STATUS: Subresources = Subresources {
    status: true,
    ..NONE
};
const SCALE: Subresources = Subresources {
    scale: true,
    ..STATUS
};
/// A pod's: status, binding and eviction.
const POD: Subresources = Subresources {
    binding: true,
    eviction: true,
    ..STATUS
};

/// Kinds whose `metadata.generation` counts spec changes, as upstream's strategies do.
const GENERATION_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "Ingress",
];

fn builtin<K>(
    short_names: &[&str],
    categories: &[&str],
    subresources: Subresources,
    hooks: Hooks,
) -> Arc<ResourceType>
where
    K: k8s_openapi::Resource + DeserializeOwned + Serialize + schemars::JsonSchema + 'static,
    K::Scope: ScopeFlag,
{
    Arc::new(resource::<K>(
        short_names,
        categories,
        subresources,
        typed_strategy::<K>(hooks),
    ))
}

fn typed_strategy<K>(hooks: Hooks) -> Arc<dyn Strategy>
where
    K: k8s_openapi::Resource + DeserializeOwned + Serialize + schemars::JsonSchema + 'static,
{
    Arc::new(typed::<K>(Hooks {
        generation: GENERATION_KINDS.contains(&K::KIND),
        ..hooks
    }))
}

/// A version `S` served over the storage of type `T`, converted by `conversion`.
fn converted<S, T>(
    short_names: &[&str],
    categories: &[&str],
    subresources: Subresources,
    hooks: Hooks,
    conversion: impl Conversion + 'static,
) -> Arc<ResourceType>
where
    S: k8s_openapi::Resource + DeserializeOwned + Serialize + schemars::JsonSchema + 'static,
    S::Scope: ScopeFlag,
    T: k8s_openapi::Resource,
{
    let strategy = typed_strategy::<S>(hooks);
    Arc::new(ResourceType {
        storage_prefix: storage_prefix::<T>(),
        conversion: Some(Arc::new(conversion)),
        ..resource::<S>(short_names, categories, subresources, strategy)
    })
}

/// A create-only kind answered by `review` and never stored.
fn review<K>(hooks: Hooks, review: impl Review + 'static) -> Arc<ResourceType>
where
    K: k8s_openapi::Resource + DeserializeOwned + Serialize + schemars::JsonSchema + 'static,
    K::Scope: ScopeFlag,
{
    let strategy = Arc::new(ReviewStrategy::new(typed::<K>(hooks), review));
    Arc::new(resource::<K>(&[], &[], NONE, strategy))
}

/// Where objects of `K` are stored: `/registry/<plural>` for core, else
/// `/registry/<group>/<plural>`.
fn storage_prefix<K: k8s_openapi::Resource>() -> String {
    if K::GROUP.is_empty() {
        format!("/registry/{}", K::URL_PATH_SEGMENT)
    } else {
        format!("/registry/{}/{}", K::GROUP, K::URL_PATH_SEGMENT)
    }
}

fn resource<K>(
    short_names: &[&str],
    categories: &[&str],
    subresources: Subresources,
    strategy: Arc<dyn Strategy>,
) -> ResourceType
where
    K: k8s_openapi::Resource,
    K::Scope: ScopeFlag,
{
    ResourceType {
        group: K::GROUP.to_owned(),
        version: K::VERSION.to_owned(),
        plural: K::URL_PATH_SEGMENT.to_owned(),
        singular: K::KIND.to_lowercase(),
        kind: K::KIND.to_owned(),
        namespaced: <K::Scope as ScopeFlag>::NAMESPACED,
        short_names: short_names.iter().map(|s| (*s).to_owned()).collect(),
        categories: categories.iter().map(|s| (*s).to_owned()).collect(),
        subresources,
        storage_prefix: storage_prefix::<K>(),
        strategy,
        conversion: None,
    }
}

fn columns(columns: &'static [table::Column]) -> Hooks {
    Hooks {
        columns,
        ..Hooks::default()
    }
}

/// Every built-in resource type, in discovery order.
pub fn all() -> Vec<Arc<ResourceType>> {
    use crate::strategy::defaults as d;
    use crate::strategy::validation as v;
    use crate::strategy::{autoscaling as a, events as ev};
    let all = &["all"];
    vec![
        // core/v1
        builtin::<core::Namespace>(
            &["ns"],
            &[],
            STATUS,
            Hooks {
                defaults: d::namespace,
                name_rule: NameRule::Label,
                columns: table::NAMESPACE,
                ..Hooks::default()
            },
        ),
        builtin::<core::Pod>(
            &["po"],
            all,
            POD,
            Hooks {
                defaults: d::pod,
                validate: v::pod,
                columns: table::POD,
                ..Hooks::default()
            },
        ),
        builtin::<core::Service>(
            &["svc"],
            all,
            STATUS,
            Hooks {
                defaults: d::service,
                validate: v::service,
                name_rule: NameRule::Label1035,
                columns: table::SERVICE,
                ..Hooks::default()
            },
        ),
        builtin::<core::Endpoints>(&["ep"], &[], NONE, columns(table::ENDPOINTS)),
        builtin::<core::ConfigMap>(
            &["cm"],
            &[],
            NONE,
            Hooks {
                validate: v::data_keys,
                ..columns(table::CONFIG_MAP)
            },
        ),
        builtin::<core::Secret>(
            &[],
            &[],
            NONE,
            Hooks {
                defaults: d::secret,
                validate: v::data_keys,
                columns: table::SECRET,
                ..Hooks::default()
            },
        ),
        builtin::<core::ServiceAccount>(&["sa"], &[], NONE, columns(table::SERVICE_ACCOUNT)),
        builtin::<core::Node>(&["no"], &[], STATUS, columns(table::NODE)),
        builtin::<core::Event>(
            &["ev"],
            &[],
            NONE,
            Hooks {
                validate: ev::core_event,
                ..columns(table::EVENT)
            },
        ),
        builtin::<core::Binding>(&[], &[], NONE, Hooks::default()),
        builtin::<core::PersistentVolume>(
            &["pv"],
            &[],
            STATUS,
            Hooks {
                defaults: d::persistent_volume,
                columns: table::PERSISTENT_VOLUME,
                ..Hooks::default()
            },
        ),
        builtin::<core::PersistentVolumeClaim>(
            &["pvc"],
            &[],
            STATUS,
            Hooks {
                defaults: d::persistent_volume_claim,
                columns: table::PERSISTENT_VOLUME_CLAIM,
                ..Hooks::default()
            },
        ),
        builtin::<core::ReplicationController>(
            &["rc"],
            all,
            SCALE,
            Hooks {
                defaults: d::replica_set,
                columns: table::REPLICA_SET,
                ..Hooks::default()
            },
        ),
        builtin::<core::ResourceQuota>(&["quota"], &[], STATUS, columns(table::RESOURCE_QUOTA)),
        builtin::<core::LimitRange>(&["limits"], &[], NONE, columns(table::DEFAULT_COLUMNS)),
        builtin::<core::PodTemplate>(&[], &[], NONE, columns(table::POD_TEMPLATE)),
        // apps/v1
        builtin::<apps::Deployment>(
            &["deploy"],
            all,
            SCALE,
            Hooks {
                defaults: d::deployment,
                validate: v::workload,
                columns: table::DEPLOYMENT,
                ..Hooks::default()
            },
        ),
        builtin::<apps::ReplicaSet>(
            &["rs"],
            all,
            SCALE,
            Hooks {
                defaults: d::replica_set,
                validate: v::workload,
                columns: table::REPLICA_SET,
                ..Hooks::default()
            },
        ),
        builtin::<apps::DaemonSet>(
            &["ds"],
            all,
            STATUS,
            Hooks {
                defaults: d::daemon_set,
                validate: v::workload,
                columns: table::DAEMON_SET,
                ..Hooks::default()
            },
        ),
        builtin::<apps::StatefulSet>(
            &["sts"],
            all,
            SCALE,
            Hooks {
                defaults: d::stateful_set,
                validate: v::workload,
                columns: table::STATEFUL_SET,
                ..Hooks::default()
            },
        ),
        builtin::<apps::ControllerRevision>(&[], &[], NONE, columns(table::CONTROLLER_REVISION)),
        // events.k8s.io/v1, stored as core/v1 Events
        converted::<events::Event, core::Event>(
            &["ev"],
            &[],
            NONE,
            Hooks {
                validate: ev::events_v1_event,
                ..columns(table::EVENT)
            },
            conversion::events::conversion(),
        ),
        // batch/v1
        builtin::<batch::Job>(
            &[],
            all,
            STATUS,
            Hooks {
                defaults: d::job,
                validate: v::job,
                columns: table::JOB,
                ..Hooks::default()
            },
        ),
        builtin::<batch::CronJob>(
            &["cj"],
            all,
            STATUS,
            Hooks {
                defaults: d::cron_job,
                columns: table::CRON_JOB,
                ..Hooks::default()
            },
        ),
        // autoscaling/v2 (preferred, stored) and autoscaling/v1
        builtin::<autoscaling::HorizontalPodAutoscaler>(
            &["hpa"],
            all,
            STATUS,
            Hooks {
                defaults: a::horizontal_pod_autoscaler_v2,
                ..columns(table::HORIZONTAL_POD_AUTOSCALER)
            },
        ),
        converted::<autoscaling_v1::HorizontalPodAutoscaler, autoscaling::HorizontalPodAutoscaler>(
            &["hpa"],
            all,
            STATUS,
            Hooks {
                defaults: a::horizontal_pod_autoscaler_v1,
                ..columns(table::HORIZONTAL_POD_AUTOSCALER)
            },
            conversion::autoscaling::conversion(),
        ),
        // networking.k8s.io/v1
        builtin::<networking::Ingress>(&["ing"], &[], STATUS, columns(table::INGRESS)),
        builtin::<networking::IngressClass>(&[], &[], NONE, columns(table::INGRESS_CLASS)),
        builtin::<networking::NetworkPolicy>(
            &["netpol"],
            &[],
            NONE,
            columns(table::NETWORK_POLICY),
        ),
        // coordination.k8s.io/v1
        builtin::<coordination::Lease>(&[], &[], NONE, columns(table::LEASE)),
        // discovery.k8s.io/v1
        builtin::<discovery::EndpointSlice>(&[], &[], NONE, columns(table::ENDPOINT_SLICE)),
        // policy/v1
        builtin::<policy::PodDisruptionBudget>(
            &["pdb"],
            &[],
            STATUS,
            columns(table::POD_DISRUPTION_BUDGET),
        ),
        // scheduling.k8s.io/v1
        builtin::<scheduling::PriorityClass>(&["pc"], &[], NONE, columns(table::PRIORITY_CLASS)),
        // storage.k8s.io/v1
        builtin::<storage::StorageClass>(&["sc"], &[], NONE, columns(table::STORAGE_CLASS)),
        // rbac.authorization.k8s.io/v1
        builtin::<rbac::ClusterRole>(
            &[],
            &[],
            NONE,
            Hooks {
                name_rule: NameRule::PathSegment,
                ..columns(table::DEFAULT_COLUMNS)
            },
        ),
        builtin::<rbac::ClusterRoleBinding>(
            &[],
            &[],
            NONE,
            Hooks {
                name_rule: NameRule::PathSegment,
                ..columns(table::ROLE_BINDING)
            },
        ),
        builtin::<rbac::Role>(
            &[],
            &[],
            NONE,
            Hooks {
                name_rule: NameRule::PathSegment,
                ..columns(table::DEFAULT_COLUMNS)
            },
        ),
        builtin::<rbac::RoleBinding>(
            &[],
            &[],
            NONE,
            Hooks {
                name_rule: NameRule::PathSegment,
                ..columns(table::ROLE_BINDING)
            },
        ),
        // apiextensions.k8s.io/v1
        builtin::<apiextensions::CustomResourceDefinition>(
            &["crd", "crds"],
            &["api-extensions"],
            STATUS,
            columns(table::DEFAULT_COLUMNS),
        ),
        // authentication.k8s.io/v1 and authorization.k8s.io/v1: answered, never stored
        review::<authentication::SelfSubjectReview>(Hooks::default(), reviews::SelfSubjectReview),
        review::<authorization::SelfSubjectAccessReview>(
            Hooks {
                validate: reviews::validate_access_review,
                ..Hooks::default()
            },
            reviews::SelfSubjectAccessReview,
        ),
        review::<authorization::SelfSubjectRulesReview>(
            Hooks::default(),
            reviews::SelfSubjectRulesReview,
        ),
    ]
}
