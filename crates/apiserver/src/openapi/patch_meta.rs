//! Strategic-merge and list metadata of the built-in types: which list fields merge, by which
//! key, and how server-side apply treats them (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`).
//!
//! Wire metadata, extracted once from the struct tags and `+listType`/`+listMapKey` markers of
//! Kubernetes v1.33's API types (k8s.io/api, apimachinery meta/v1, apiextensions v1), with
//! embedded (`inline`) structs flattened into their outer type as the published schemas do.
//! k8s-openapi's schemas do not carry these, so the schema generator adds them from here.

/// One list field: (field, patch strategy, patch merge key, list type, list map keys); empty
/// strings mean "not set".
pub type FieldMeta = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// One definition (its name after the prefix) and its annotated fields.
pub type DefinitionMeta = (&'static str, &'static [FieldMeta]);

/// Per definition-name prefix, per definition, its annotated fields.
#[rustfmt::skip]
pub static TABLE: &[(&str, &[DefinitionMeta])] = &[
    ("io.k8s.api.apps.v1", &[
        ("DaemonSetStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("DeploymentSpec", &[("strategy", "retainKeys", "", "", &[])]),
        ("DeploymentStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("ReplicaSetStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("StatefulSetSpec", &[("volumeClaimTemplates", "", "", "atomic", &[])]),
        ("StatefulSetStatus", &[("conditions", "merge", "type", "map", &["type"])]),
    ]),
    ("io.k8s.api.autoscaling.v2", &[
        ("HPAScalingRules", &[("policies", "", "", "atomic", &[])]),
        ("HorizontalPodAutoscalerSpec", &[("metrics", "", "", "atomic", &[])]),
        ("HorizontalPodAutoscalerStatus", &[
            ("conditions", "merge", "type", "map", &["type"]),
            ("currentMetrics", "", "", "atomic", &[]),
        ]),
    ]),
    ("io.k8s.api.batch.v1", &[
        ("CronJobStatus", &[("active", "", "", "atomic", &[])]),
        ("JobStatus", &[("conditions", "merge", "type", "atomic", &[])]),
        ("PodFailurePolicy", &[("rules", "", "", "atomic", &[])]),
        ("PodFailurePolicyOnExitCodesRequirement", &[("values", "", "", "set", &[])]),
        ("PodFailurePolicyRule", &[("onPodConditions", "", "", "atomic", &[])]),
        ("SuccessPolicy", &[("rules", "", "", "atomic", &[])]),
        ("UncountedTerminatedPods", &[
            ("failed", "", "", "set", &[]), ("succeeded", "", "", "set", &[]),
        ]),
    ]),
    ("io.k8s.api.core.v1", &[
        ("AvoidPods", &[("preferAvoidPods", "", "", "atomic", &[])]),
        ("Capabilities", &[
            ("add", "", "", "atomic", &[]), ("drop", "", "", "atomic", &[]),
        ]),
        ("CephFSPersistentVolumeSource", &[("monitors", "", "", "atomic", &[])]),
        ("CephFSVolumeSource", &[("monitors", "", "", "atomic", &[])]),
        ("ComponentStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("ConfigMapProjection", &[("items", "", "", "atomic", &[])]),
        ("ConfigMapVolumeSource", &[("items", "", "", "atomic", &[])]),
        ("Container", &[
            ("args", "", "", "atomic", &[]), ("command", "", "", "atomic", &[]),
            ("env", "merge", "name", "map", &["name"]), ("envFrom", "", "", "atomic", &[]),
            ("ports", "merge", "containerPort", "map", &["containerPort", "protocol"]),
            ("resizePolicy", "", "", "atomic", &[]),
            ("volumeDevices", "merge", "devicePath", "map", &["devicePath"]),
            ("volumeMounts", "merge", "mountPath", "map", &["mountPath"]),
        ]),
        ("ContainerImage", &[("names", "", "", "atomic", &[])]),
        ("ContainerStatus", &[
            ("allocatedResourcesStatus", "merge", "name", "map", &["name"]),
            ("volumeMounts", "merge", "mountPath", "map", &["mountPath"]),
        ]),
        ("DownwardAPIProjection", &[("items", "", "", "atomic", &[])]),
        ("DownwardAPIVolumeSource", &[("items", "", "", "atomic", &[])]),
        ("EndpointSubset", &[
            ("addresses", "", "", "atomic", &[]), ("notReadyAddresses", "", "", "atomic", &[]),
            ("ports", "", "", "atomic", &[]),
        ]),
        ("Endpoints", &[("subsets", "", "", "atomic", &[])]),
        ("EphemeralContainer", &[
            ("args", "", "", "atomic", &[]), ("command", "", "", "atomic", &[]),
            ("env", "merge", "name", "map", &["name"]), ("envFrom", "", "", "atomic", &[]),
            ("ports", "merge", "containerPort", "map", &["containerPort", "protocol"]),
            ("resizePolicy", "", "", "atomic", &[]),
            ("volumeDevices", "merge", "devicePath", "map", &["devicePath"]),
            ("volumeMounts", "merge", "mountPath", "map", &["mountPath"]),
        ]),
        ("EphemeralContainerCommon", &[
            ("args", "", "", "atomic", &[]), ("command", "", "", "atomic", &[]),
            ("env", "merge", "name", "map", &["name"]), ("envFrom", "", "", "atomic", &[]),
            ("ports", "merge", "containerPort", "map", &["containerPort", "protocol"]),
            ("resizePolicy", "", "", "atomic", &[]),
            ("volumeDevices", "merge", "devicePath", "map", &["devicePath"]),
            ("volumeMounts", "merge", "mountPath", "map", &["mountPath"]),
        ]),
        ("ExecAction", &[("command", "", "", "atomic", &[])]),
        ("FCVolumeSource", &[
            ("targetWWNs", "", "", "atomic", &[]), ("wwids", "", "", "atomic", &[]),
        ]),
        ("HTTPGetAction", &[("httpHeaders", "", "", "atomic", &[])]),
        ("HostAlias", &[("hostnames", "", "", "atomic", &[])]),
        ("ISCSIPersistentVolumeSource", &[("portals", "", "", "atomic", &[])]),
        ("ISCSIVolumeSource", &[("portals", "", "", "atomic", &[])]),
        ("LimitRangeSpec", &[("limits", "", "", "atomic", &[])]),
        ("LinuxContainerUser", &[("supplementalGroups", "", "", "atomic", &[])]),
        ("LoadBalancerIngress", &[("ports", "", "", "atomic", &[])]),
        ("LoadBalancerStatus", &[("ingress", "", "", "atomic", &[])]),
        ("NamespaceSpec", &[("finalizers", "", "", "atomic", &[])]),
        ("NamespaceStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("NodeAffinity", &[
            ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[]),
        ]),
        ("NodeSelector", &[("nodeSelectorTerms", "", "", "atomic", &[])]),
        ("NodeSelectorRequirement", &[("values", "", "", "atomic", &[])]),
        ("NodeSelectorTerm", &[
            ("matchExpressions", "", "", "atomic", &[]), ("matchFields", "", "", "atomic", &[]),
        ]),
        ("NodeSpec", &[
            ("podCIDRs", "merge", "", "set", &[]), ("taints", "", "", "atomic", &[]),
        ]),
        ("NodeStatus", &[
            ("addresses", "merge", "type", "map", &["type"]),
            ("conditions", "merge", "type", "map", &["type"]), ("images", "", "", "atomic", &[]),
            ("runtimeHandlers", "", "", "atomic", &[]), ("volumesAttached", "", "", "atomic", &[]),
            ("volumesInUse", "", "", "atomic", &[]),
        ]),
        ("PersistentVolumeClaimSpec", &[("accessModes", "", "", "atomic", &[])]),
        ("PersistentVolumeClaimStatus", &[
            ("accessModes", "", "", "atomic", &[]),
            ("conditions", "merge", "type", "map", &["type"]),
        ]),
        ("PersistentVolumeSpec", &[
            ("accessModes", "", "", "atomic", &[]), ("mountOptions", "", "", "atomic", &[]),
        ]),
        ("PodAffinity", &[
            ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[]),
            ("requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[]),
        ]),
        ("PodAffinityTerm", &[
            ("matchLabelKeys", "", "", "atomic", &[]), ("mismatchLabelKeys", "", "", "atomic", &[]),
            ("namespaces", "", "", "atomic", &[]),
        ]),
        ("PodAntiAffinity", &[
            ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[]),
            ("requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[]),
        ]),
        ("PodDNSConfig", &[
            ("nameservers", "", "", "atomic", &[]), ("options", "", "", "atomic", &[]),
            ("searches", "", "", "atomic", &[]),
        ]),
        ("PodExecOptions", &[("command", "", "", "atomic", &[])]),
        ("PodPortForwardOptions", &[("ports", "", "", "atomic", &[])]),
        ("PodSecurityContext", &[
            ("supplementalGroups", "", "", "atomic", &[]), ("sysctls", "", "", "atomic", &[]),
        ]),
        ("PodSpec", &[
            ("containers", "merge", "name", "map", &["name"]),
            ("ephemeralContainers", "merge", "name", "map", &["name"]),
            ("hostAliases", "merge", "ip", "map", &["ip"]),
            ("imagePullSecrets", "merge", "name", "map", &["name"]),
            ("initContainers", "merge", "name", "map", &["name"]),
            ("readinessGates", "", "", "atomic", &[]),
            ("resourceClaims", "merge,retainKeys", "name", "map", &["name"]),
            ("schedulingGates", "merge", "name", "map", &["name"]),
            ("tolerations", "", "", "atomic", &[]),
            ("topologySpreadConstraints", "merge", "topologyKey", "map", &["topologyKey", "whenUnsatisfiable"]),
            ("volumes", "merge,retainKeys", "name", "map", &["name"]),
        ]),
        ("PodStatus", &[
            ("conditions", "merge", "type", "map", &["type"]),
            ("containerStatuses", "", "", "atomic", &[]),
            ("ephemeralContainerStatuses", "", "", "atomic", &[]),
            ("hostIPs", "merge", "ip", "atomic", &[]),
            ("initContainerStatuses", "", "", "atomic", &[]),
            ("podIPs", "merge", "ip", "map", &["ip"]),
            ("resourceClaimStatuses", "merge,retainKeys", "name", "map", &["name"]),
        ]),
        ("ProjectedVolumeSource", &[("sources", "", "", "atomic", &[])]),
        ("RBDPersistentVolumeSource", &[("monitors", "", "", "atomic", &[])]),
        ("RBDVolumeSource", &[("monitors", "", "", "atomic", &[])]),
        ("ReplicationControllerStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("ResourceQuotaSpec", &[("scopes", "", "", "atomic", &[])]),
        ("ResourceRequirements", &[("claims", "", "", "map", &["name"])]),
        ("ResourceStatus", &[("resources", "", "", "map", &["resourceID"])]),
        ("ScopeSelector", &[("matchExpressions", "", "", "atomic", &[])]),
        ("ScopedResourceSelectorRequirement", &[("values", "", "", "atomic", &[])]),
        ("SecretProjection", &[("items", "", "", "atomic", &[])]),
        ("SecretVolumeSource", &[("items", "", "", "atomic", &[])]),
        ("ServiceAccount", &[
            ("imagePullSecrets", "", "", "atomic", &[]),
            ("secrets", "merge", "name", "map", &["name"]),
        ]),
        ("ServiceSpec", &[
            ("clusterIPs", "", "", "atomic", &[]), ("externalIPs", "", "", "atomic", &[]),
            ("ipFamilies", "", "", "atomic", &[]),
            ("loadBalancerSourceRanges", "", "", "atomic", &[]),
            ("ports", "merge", "port", "map", &["port", "protocol"]),
        ]),
        ("ServiceStatus", &[("conditions", "merge", "type", "map", &["type"])]),
        ("TopologySelectorLabelRequirement", &[("values", "", "", "atomic", &[])]),
        ("TopologySelectorTerm", &[("matchLabelExpressions", "", "", "atomic", &[])]),
        ("TopologySpreadConstraint", &[("matchLabelKeys", "", "", "atomic", &[])]),
    ]),
    ("io.k8s.api.discovery.v1", &[
        ("Endpoint", &[("addresses", "", "", "set", &[])]),
        ("EndpointHints", &[
            ("forNodes", "", "", "atomic", &[]), ("forZones", "", "", "atomic", &[]),
        ]),
        ("EndpointSlice", &[
            ("endpoints", "", "", "atomic", &[]), ("ports", "", "", "atomic", &[]),
        ]),
    ]),
    ("io.k8s.api.networking.v1", &[
        ("HTTPIngressRuleValue", &[("paths", "", "", "atomic", &[])]),
        ("IPBlock", &[("except", "", "", "atomic", &[])]),
        ("IngressLoadBalancerIngress", &[("ports", "", "", "atomic", &[])]),
        ("IngressLoadBalancerStatus", &[("ingress", "", "", "atomic", &[])]),
        ("IngressSpec", &[
            ("rules", "", "", "atomic", &[]), ("tls", "", "", "atomic", &[]),
        ]),
        ("IngressTLS", &[("hosts", "", "", "atomic", &[])]),
        ("NetworkPolicyEgressRule", &[
            ("ports", "", "", "atomic", &[]), ("to", "", "", "atomic", &[]),
        ]),
        ("NetworkPolicyIngressRule", &[
            ("from", "", "", "atomic", &[]), ("ports", "", "", "atomic", &[]),
        ]),
        ("NetworkPolicySpec", &[
            ("egress", "", "", "atomic", &[]), ("ingress", "", "", "atomic", &[]),
            ("policyTypes", "", "", "atomic", &[]),
        ]),
        ("ServiceCIDRSpec", &[("cidrs", "", "", "atomic", &[])]),
        ("ServiceCIDRStatus", &[("conditions", "merge", "type", "map", &["type"])]),
    ]),
    ("io.k8s.api.policy.v1", &[
        ("PodDisruptionBudgetSpec", &[("selector", "replace", "", "", &[])]),
        ("PodDisruptionBudgetStatus", &[("conditions", "merge", "type", "map", &["type"])]),
    ]),
    ("io.k8s.api.rbac.v1", &[
        ("AggregationRule", &[("clusterRoleSelectors", "", "", "atomic", &[])]),
        ("ClusterRole", &[("rules", "", "", "atomic", &[])]),
        ("ClusterRoleBinding", &[("subjects", "", "", "atomic", &[])]),
        ("PolicyRule", &[
            ("apiGroups", "", "", "atomic", &[]), ("nonResourceURLs", "", "", "atomic", &[]),
            ("resourceNames", "", "", "atomic", &[]), ("resources", "", "", "atomic", &[]),
            ("verbs", "", "", "atomic", &[]),
        ]),
        ("Role", &[("rules", "", "", "atomic", &[])]),
        ("RoleBinding", &[("subjects", "", "", "atomic", &[])]),
    ]),
    ("io.k8s.api.storage.v1", &[
        ("CSIDriverSpec", &[
            ("tokenRequests", "", "", "atomic", &[]), ("volumeLifecycleModes", "", "", "set", &[]),
        ]),
        ("CSINodeDriver", &[("topologyKeys", "", "", "atomic", &[])]),
        ("CSINodeSpec", &[("drivers", "merge", "name", "map", &["name"])]),
        ("StorageClass", &[
            ("allowedTopologies", "", "", "atomic", &[]), ("mountOptions", "", "", "atomic", &[]),
        ]),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1", &[
        ("ConversionRequest", &[("objects", "", "", "atomic", &[])]),
        ("ConversionResponse", &[("convertedObjects", "", "", "atomic", &[])]),
        ("CustomResourceDefinitionNames", &[
            ("categories", "", "", "atomic", &[]), ("shortNames", "", "", "atomic", &[]),
        ]),
        ("CustomResourceDefinitionSpec", &[("versions", "", "", "atomic", &[])]),
        ("CustomResourceDefinitionStatus", &[
            ("conditions", "", "", "map", &["type"]), ("storedVersions", "", "", "atomic", &[]),
        ]),
        ("CustomResourceDefinitionVersion", &[
            ("additionalPrinterColumns", "", "", "atomic", &[]),
            ("selectableFields", "", "", "atomic", &[]),
        ]),
        ("JSONSchemaProps", &[
            ("allOf", "", "", "atomic", &[]), ("anyOf", "", "", "atomic", &[]),
            ("enum", "", "", "atomic", &[]), ("oneOf", "", "", "atomic", &[]),
            ("required", "", "", "atomic", &[]),
            ("x-kubernetes-list-map-keys", "", "", "atomic", &[]),
            ("x-kubernetes-validations", "merge", "rule", "map", &["rule"]),
        ]),
        ("WebhookConversion", &[("conversionReviewVersions", "", "", "atomic", &[])]),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1", &[
        ("APIGroup", &[
            ("serverAddressByClientCIDRs", "", "", "atomic", &[]),
            ("versions", "", "", "atomic", &[]),
        ]),
        ("APIGroupList", &[("groups", "", "", "atomic", &[])]),
        ("APIResource", &[
            ("categories", "", "", "atomic", &[]), ("shortNames", "", "", "atomic", &[]),
        ]),
        ("APIResourceList", &[("resources", "", "", "atomic", &[])]),
        ("APIVersions", &[
            ("serverAddressByClientCIDRs", "", "", "atomic", &[]),
            ("versions", "", "", "atomic", &[]),
        ]),
        ("ApplyOptions", &[("dryRun", "", "", "atomic", &[])]),
        ("CreateOptions", &[("dryRun", "", "", "atomic", &[])]),
        ("DeleteOptions", &[("dryRun", "", "", "atomic", &[])]),
        ("FieldSelectorRequirement", &[("values", "", "", "atomic", &[])]),
        ("LabelSelector", &[("matchExpressions", "", "", "atomic", &[])]),
        ("LabelSelectorRequirement", &[("values", "", "", "atomic", &[])]),
        ("ObjectMeta", &[
            ("finalizers", "merge", "", "set", &[]), ("managedFields", "", "", "atomic", &[]),
            ("ownerReferences", "merge", "uid", "map", &["uid"]),
        ]),
        ("PatchOptions", &[("dryRun", "", "", "atomic", &[])]),
        ("RootPaths", &[("paths", "", "", "atomic", &[])]),
        ("Status", &[("details", "", "", "atomic", &[])]),
        ("StatusDetails", &[("causes", "", "", "atomic", &[])]),
        ("Table", &[
            ("columnDefinitions", "", "", "atomic", &[]), ("rows", "", "", "atomic", &[]),
        ]),
        ("TableRow", &[
            ("cells", "", "", "atomic", &[]), ("conditions", "", "", "atomic", &[]),
        ]),
        ("UpdateOptions", &[("dryRun", "", "", "atomic", &[])]),
    ]),
];
