import FleetConfig

/// The fields of Argo CD's ApplicationSet CRD (`argoproj.io/v1alpha1`) that Flotilla checks: a field the CRD
/// does not define (a typo such as `preserveResourcesOnDeletoin`) would be refused by the Kubernetes API server
/// under strict validation, so it is an error here too. Free-form parts (Helm values, kustomize options,
/// generator elements, plugins) are not checked.
enum ApplicationSetSchema {
    static let objectMeta: FieldSchema = .mapping([
        "name": .any, "namespace": .any, "labels": .any, "annotations": .any, "finalizers": .any, "generateName": .any,
        "uid": .any, "resourceVersion": .any, "generation": .any, "creationTimestamp": .any, "deletionTimestamp": .any,
        "deletionGracePeriodSeconds": .any, "ownerReferences": .any, "managedFields": .any, "selfLink": .any,
    ])

    static let selector: FieldSchema = .mapping([
        "matchLabels": .any,
        "matchExpressions": .list(.mapping(["key": .any, "operator": .any, "values": .any])),
    ])

    static let source: FieldSchema = .mapping([
        "repoURL": .any, "path": .any, "targetRevision": .any, "chart": .any, "helm": .any, "kustomize": .any,
        "directory": .any, "plugin": .any, "ref": .any, "name": .any,
    ])

    static let applicationSpec: FieldSchema = .mapping([
        "project": .any, "source": source, "sources": .list(source),
        "destination": .mapping(["server": .any, "namespace": .any, "name": .any]),
        "syncPolicy": .mapping([
            "automated": .mapping(["prune": .any, "selfHeal": .any, "allowEmpty": .any, "enabled": .any]),
            "syncOptions": .any,
            "retry": .mapping(["limit": .any, "backoff": .mapping(["duration": .any, "factor": .any, "maxDuration": .any]), "refresh": .any]),
            "managedNamespaceMetadata": .mapping(["labels": .any, "annotations": .any]),
        ]),
        "ignoreDifferences": .list(.mapping(["group": .any, "kind": .any, "name": .any, "namespace": .any, "jsonPointers": .any,
                                             "jqPathExpressions": .any, "managedFieldsManagers": .any])),
        "info": .list(.mapping(["name": .any, "value": .any])),
        "revisionHistoryLimit": .any, "sourceHydrator": .any,
    ])

    static let template: FieldSchema = .mapping([
        "metadata": .mapping(["name": .any, "namespace": .any, "labels": .any, "annotations": .any, "finalizers": .any]),
        "spec": applicationSpec,
    ])

    static let pathEntries: FieldSchema = .list(.mapping(["path": .any, "exclude": .any]))

    /// One entry of `generators` (also inside matrix and merge).
    static let generator: FieldSchema = .mapping([
        "selector": selector,
        "list": .mapping(["elements": .any, "elementsYaml": .any, "template": template]),
        "clusters": .mapping(["selector": selector, "values": .any, "template": template, "flatList": .any]),
        "git": .mapping(["repoURL": .any, "revision": .any, "directories": pathEntries, "files": pathEntries, "template": template,
                         "values": .any, "requeueAfterSeconds": .any, "pathParamPrefix": .any]),
        "matrix": .mapping(["generators": .list(.lazy { generator }), "template": template]),
        "merge": .mapping(["generators": .list(.lazy { generator }), "mergeKeys": .any, "template": template]),
        "scmProvider": .any, "clusterDecisionResource": .any, "pullRequest": .any, "plugin": .any,
    ])

    /// An Application as Argo CD's CRD has it.
    static let application: FieldSchema = .mapping([
        "apiVersion": .any, "kind": .any, "metadata": objectMeta, "status": .any, "operation": .any, "spec": applicationSpec,
    ])

    /// A file of ApplicationSets and Applications.
    static let document: FieldSchema = .byKind(["ApplicationSet": applicationSet, "Application": application])

    static let applicationSet: FieldSchema = .mapping([
        "apiVersion": .any, "kind": .any, "metadata": objectMeta, "status": .any,
        "spec": .mapping([
            "generators": .list(generator), "goTemplate": .any, "goTemplateOptions": .any,
            "syncPolicy": .mapping(["applicationsSync": .any, "preserveResourcesOnDeletion": .any]),
            "template": template, "templatePatch": .any,
            "strategy": .mapping(["type": .any, "deletionOrder": .any, "rollingSync": .mapping(["steps": .list(.mapping(["matchExpressions": .any, "maxUpdate": .any]))])]),
            "preservedFields": .mapping(["annotations": .any, "labels": .any]),
            "ignoreApplicationDifferences": .any, "applyNestedSelectors": .any,
        ]),
    ])
}
