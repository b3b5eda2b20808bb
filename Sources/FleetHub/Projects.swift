import FleetAuth
import FleetConfig
import FleetModel
import Foundation
import Logging

/// The AppProjects of the `projects` files and directories, and the rules they set for Applications.
final class ProjectBook: @unchecked Sendable {
    private let logger: Logger
    /// No `projects` configured: projects are not enforced, every name is permissive.
    private let enforced: Bool
    // `lock` guards `projects`.
    private let lock = NSLock()
    private var projects: [String: Project] = [:]
    /// AppProjects rendered by Applications for the control plane (app-of-apps), by parent Application.
    private var rendered: [String: [String: Project]] = [:]
    private var changes: UInt64 = 0

    /// Bumped whenever the projects change.
    var generation: UInt64 { lock.withLock { changes } }

    init(logger: Logger, enforced: Bool) {
        self.logger = logger
        self.enforced = enforced
    }

    /// Reads every AppProject of `files`. A file that does not parse keeps the projects it had; it is returned
    /// with its text and the error (its line), for the caller to say once.
    @discardableResult
    func load(files: [String]) -> [(file: String, text: String, error: String)] {
        var failures: [(file: String, text: String, error: String)] = []
        var found: [String: Project] = [:]
        func keepPrevious() {
            let kept = lock.withLock { projects }
            for (name, p) in kept where found[name] == nil { found[name] = p }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                // There but unreadable (an I/O error, no file descriptor left): not a removal.
                if FileManager.default.fileExists(atPath: file) {
                    failures.append((file, "\u{0}unreadable", "cannot be read"))
                    keepPrevious()
                }
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            do {
                for doc in try YAMLValue.documents(text, file: file) where doc["kind"]?.stringValue == "AppProject" {
                    let project = try Project(object: doc, file: file)
                    found[project.name] = project
                }
            } catch {
                failures.append((file, text, "\(error)"))
                keepPrevious()
            }
        }
        let changed = lock.withLock { () -> Bool in
            defer { projects = found }
            let changed = Set(projects.keys) != Set(found.keys) || projects.contains { found[$0.key] != $0.value }
            if changed { changes &+= 1 }
            return changed
        }
        if changed { logger.info("projects: \(found.keys.sorted().joined(separator: ", "))") }
        return failures
    }

    /// The project an Application belongs to (`spec.project`, default `default`): a loaded AppProject, Argo
    /// CD's permissive `default` when none is defined, or nil for an unknown project.
    func project(of app: JSONValue) -> Project? {
        let name = app.value(at: ["spec", "project"])?.stringValue ?? "default"
        if let p = lock.withLock({ projects[name] ?? renderedProject(name) }) { return p }
        return name == "default" || !enforced ? .permissive(name) : nil
    }

    /// A rendered project of that name (the first parent's by name); called under `lock`.
    private func renderedProject(_ name: String) -> Project? {
        for parent in rendered.keys.sorted() { if let p = rendered[parent]?[name] { return p } }
        return nil
    }

    func list() -> [Project] {
        lock.withLock {
            var all = projects
            for parent in rendered.keys.sorted() { for (name, p) in rendered[parent]! where all[name] == nil { all[name] = p } }
            return all.values.sorted { $0.name < $1.name }
        }
    }

    /// The AppProjects an Application renders for the control plane now (replacing what it rendered before). A
    /// name a project file defines stays the file's: returned, with the parent that rendered it first.
    @discardableResult
    func setRendered(_ found: [Project], parent: String) -> [String] {
        lock.withLock {
            var mine: [String: Project] = [:]
            var clashes: [String] = []
            for p in found {
                if projects[p.name] != nil || rendered.contains(where: { $0.key != parent && $0.value[p.name] != nil }) { clashes.append(p.name); continue }
                mine[p.name] = p
            }
            if (rendered[parent] ?? [:]) != mine {
                rendered[parent] = mine.isEmpty ? nil : mine
                changes &+= 1
            }
            return clashes
        }
    }

    /// The AppProjects `parent` rendered, as in force now.
    func rendered(by parent: String) -> [Project] { lock.withLock { (rendered[parent] ?? [:]).values.sorted { $0.name < $1.name } } }

    /// Why the Application may not deploy to `cluster` (project rules on sources and destination), or nil.
    func placementProblem(_ app: JSONValue, on cluster: Cluster) -> String? {
        guard let project = project(of: app) else {
            return "project \(app.value(at: ["spec", "project"])?.stringValue ?? "") does not exist"
        }
        for source in HubContext.sources(of: app) {
            if let url = source["repoURL"]?.stringValue, let problem = project.sourceProblem(url) { return problem }
        }
        let namespace = app.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "default"
        return project.destinationProblem(server: cluster.server, name: cluster.name, namespace: namespace)
    }
}
