import FleetConfig
import FleetModel
import Foundation

/// What `kubectl get applications,applicationsets,appprojects,secrets,configmaps -n argocd -o yaml` printed from a
/// running Argo CD, sorted into what Flotilla takes and how. Pure: text in, plan out.
///
/// - Applications and ApplicationSets go to the hub's API as they are (status and server-set metadata dropped);
/// - cluster Secrets to its registry (`cluster apply`);
/// - AppProjects, repository Secrets and `argocd-rbac-cm`'s `policy.csv` to files the hub watches (`projects:`,
///   `repositorySecrets:`, `auth.policyFile`);
/// - everything else is named with the reason it is not carried over (accounts, other Secrets and ConfigMaps,
///   other kinds, `argocd-cm` settings).
struct ArgoExport {
    var applications: [JSONValue] = []
    var applicationSets: [JSONValue] = []
    var projects: [JSONValue] = []
    var clusterSecrets: [JSONValue] = []
    var repositorySecrets: [JSONValue] = []
    /// `argocd-rbac-cm`: `policy.csv`, with `policy.default` as a `g` line is not expressible: kept apart.
    var policyCSV: String?
    var defaultRole: String?
    var notCarried: [(what: String, why: String)] = []

    static let serverMetadata = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
                                 "deletionGracePeriodSeconds", "ownerReferences"]

    init(_ text: String, file: String) throws {
        for document in try YAMLValue.documents(text, file: file) where !document.isNull {
            let items = ["List", "ApplicationList", "SecretList"].contains(document["kind"]?.stringValue ?? "") ? document["items"]?.arrayValue ?? [] : [document]
            for item in items { take(item) }
        }
    }

    /// The object without what the API server and Argo CD's controllers added.
    static func clean(_ object: JSONValue) -> JSONValue {
        var out = object
        out.remove("status")
        out.remove("operation")
        if var meta = out["metadata"] {
            for key in serverMetadata { meta.remove(key) }
            if var annotations = meta["annotations"] {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration")
                if annotations.objectValue?.isEmpty ?? true { meta.remove("annotations") } else { meta.set("annotations", annotations) }
            }
            out.set("metadata", meta)
        }
        return out
    }

    private mutating func take(_ item: JSONValue) {
        let kind = item["kind"]?.stringValue ?? "?", api = item["apiVersion"]?.stringValue ?? ""
        let name = item.value(at: ["metadata", "name"])?.stringValue ?? "?"
        switch (api.hasPrefix("argoproj.io/"), kind) {
        case (true, "Application"): applications.append(Self.clean(item))
        case (true, "ApplicationSet"): applicationSets.append(Self.clean(item))
        case (true, "AppProject"): projects.append(Self.clean(item))
        case (false, "Secret"):
            switch item.value(at: ["metadata", "labels", RepositorySecret.label])?.stringValue {
            case "cluster": clusterSecrets.append(Self.clean(item))
            case "repository", "repo-creds": repositorySecrets.append(Self.clean(item))
            default: notCarried.append(("Secret \(name)", "not an Argo CD cluster or repository Secret"))
            }
        case (false, "ConfigMap"):
            let data = item["data"]?.objectValue ?? []
            switch name {
            case "argocd-rbac-cm":
                for (key, value) in data {
                    switch key {
                    case "policy.csv": policyCSV = value.stringValue
                    case "policy.default": defaultRole = value.stringValue
                    default: notCarried.append(("argocd-rbac-cm \(key)", "not carried over (Flotilla reads policy.csv and policy.default)"))
                    }
                }
            case "argocd-cm":
                for (key, _) in data {
                    if key.hasPrefix("accounts.") {
                        let account = key.dropFirst("accounts.".count).split(separator: ".").first.map(String.init) ?? key
                        let what = "account \(account)"
                        if !notCarried.contains(where: { $0.what == what }) {
                            notCarried.append((what, "accounts are not carried over: create it with `flotilla account create \(account) --role …` (Argo CD's password hashes stay in Argo CD)"))
                        }
                    } else {
                        notCarried.append(("argocd-cm \(key)", "Argo CD setting not carried over"))
                    }
                }
            default:
                notCarried.append(("ConfigMap \(name)", "not an Argo CD configuration Flotilla reads"))
            }
        default:
            notCarried.append(("\(kind) \(name)", "not an object Flotilla takes"))
        }
    }

    /// `policy.csv` for `auth.policyFile`, `policy.default` noted in a comment (it goes in `auth.defaultRole`).
    var policyFile: String? {
        guard let policyCSV else { return nil }
        var text = "# From Argo CD's argocd-rbac-cm.\n"
        if let defaultRole, !defaultRole.isEmpty { text += "# policy.default: \(defaultRole) (set auth.defaultRole to it)\n" }
        return text + policyCSV + (policyCSV.hasSuffix("\n") ? "" : "\n")
    }
}
