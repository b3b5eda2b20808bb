import FleetConfig
import FleetModel
import FleetTemplate
import Foundation

/// `git`: directories (`directories:`) or files (`files:`) of a repository at a revision.
///
/// Directories follow Argo CD: every directory but the root, in walk order; hidden directories skipped with
/// their subtree; Go `path.Match` on the full relative path; a directory is produced when it matches an
/// include item and no `exclude: true` item. Files use doublestar globbing (`*` in one segment, `**` any
/// depth), are sorted by path, and each file's YAML or JSON object (or each object of a list) is one set.
public struct GitGenerator: Generator {
    public static let name = "git"
    public init() {}

    public func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        guard let repoURL = spec["repoURL"]?.stringValue, !repoURL.isEmpty else {
            throw GenerationError(.invalidSpec, field: "\(field).repoURL", "required field is missing")
        }
        let revision = spec["revision"]?.stringValue ?? "HEAD"
        let prefix = spec["pathParamPrefix"]?.stringValue ?? ""
        let hasDirs = spec["directories"] != nil, hasFiles = spec["files"] != nil
        if hasDirs == hasFiles {
            throw GenerationError(.invalidSpec, field: field, "set exactly one of directories or files")
        }
        let commit = try context.resolve(repoURL: repoURL, revision: revision, field: "\(field)")
        guard let git = context.git else { throw GenerationError(.git, field: field, "git is not available") }
        let tree: RepoTree
        do { tree = try git.tree(repoURL: repoURL, commit: commit) } catch {
            throw GenerationError(.git, field: field, "\(error)")
        }
        let items = try patterns(spec[hasDirs ? "directories" : "files"]!, field: "\(field).\(hasDirs ? "directories" : "files")")
        let includes = items.filter { !$0.exclude }.map(\.path), excludes = items.filter(\.exclude).map(\.path)
        if hasDirs {
            var sets: [ParamSet] = []
            var hidden: String?
            for dir in tree.directories {
                if let h = hidden, dir.hasPrefix(h) { continue }
                hidden = nil
                if !context.includeHiddenDirectories, dir.split(separator: "/").last?.hasPrefix(".") == true {
                    hidden = dir + "/"
                    continue
                }
                guard includes.contains(where: { Glob.pathMatch($0, dir) }), !excludes.contains(where: { Glob.pathMatch($0, dir) }) else { continue }
                var params = pathParams(dir, filename: nil, prefix: prefix, goTemplate: context.goTemplate)
                let values = try GeneratorRegistry.renderValues(spec, params: params, field: field, context: context)
                GeneratorRegistry.addValues(values, to: &params, goTemplate: context.goTemplate)
                sets.append(ParamSet(params: params, origin: .item(generator: "git", detail: "directory \(dir)")))
            }
            return sets
        }
        var seen = Set<String>()
        var files: [String] = []
        for pattern in includes {
            for file in tree.files where Glob.doublestarMatch(pattern, file) && seen.insert(file).inserted { files.append(file) }
        }
        files = files.filter { f in !excludes.contains { Glob.doublestarMatch($0, f) } }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var sets: [ParamSet] = []
        for file in files {
            let data: Data
            do { data = try git.readFile(repoURL: repoURL, commit: commit, path: file) } catch {
                throw GenerationError(.git, field: field, "\(error)")
            }
            let text = String(decoding: data, as: UTF8.self)
            let parsed: JSONValue
            do {
                parsed = file.hasSuffix(".json") ? try JSONParser.parse(text) : try YAMLValue.parse(text, file: file)
            } catch {
                throw GenerationError(.invalidSpec, field: field, "unable to process file '\(file)' of \(repoURL) at \(String(commit.prefix(12))): \(error)")
            }
            let objects: [JSONValue]
            switch parsed {
            case .object: objects = [parsed]
            case .array(let a): objects = a
            case .null: objects = [.object([])]
            default:
                throw GenerationError(.invalidSpec, field: field, "unable to process file '\(file)': expected a mapping or a list of mappings")
            }
            let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
            let filename = String(file.split(separator: "/").last ?? "")
            for (i, object) in objects.enumerated() {
                guard let pairs = object.objectValue else {
                    throw GenerationError(.invalidSpec, field: field, "unable to process file '\(file)': item \(i) is not a mapping")
                }
                var params: Params = [:]
                if context.goTemplate {
                    for (k, v) in pairs { params[k] = v }
                } else {
                    var flat: [String: JSONValue] = [:]
                    ParamFlattening.flatten(object, into: &flat)
                    params = flat
                }
                params.merge(pathParams(dir, filename: filename, prefix: prefix, goTemplate: context.goTemplate)) { _, path in path }
                let values = try GeneratorRegistry.renderValues(spec, params: params, field: field, context: context)
                GeneratorRegistry.addValues(values, to: &params, goTemplate: context.goTemplate)
                sets.append(ParamSet(params: params, origin: .item(generator: "git", detail: objects.count > 1 ? "file \(file)[\(i)]" : "file \(file)")))
            }
        }
        return sets
    }

    private func patterns(_ spec: JSONValue, field: String) throws -> [(path: String, exclude: Bool)] {
        guard let list = spec.arrayValue else { throw GenerationError(.invalidSpec, field: field, "must be a list of {path, exclude}") }
        return try list.enumerated().map { i, item in
            guard let path = item["path"]?.stringValue else {
                throw GenerationError(.invalidSpec, field: "\(field)[\(i)].path", "required field is missing")
            }
            return (path, item["exclude"]?.boolValue ?? false)
        }
    }

    /// `path`, `path.basename`, `path.basenameNormalized`, `path[N]` (fasttemplate) or `.path.{…, segments}`;
    /// files add `filename` and `filenameNormalized`. With a prefix P, keys live under `P.`.
    func pathParams(_ path: String, filename: String?, prefix: String, goTemplate: Bool) -> Params {
        let basename = path == "." ? "." : String(path.split(separator: "/").last ?? "")
        let segments = path == "." ? ["."] : path.split(separator: "/").map(String.init)
        let basenameNormalized = normalizeName(basename)
        if goTemplate {
            var object: [(String, JSONValue)] = [
                ("path", .string(path)), ("basename", .string(basename)),
                ("basenameNormalized", .string(basenameNormalized)),
            ]
            if let filename {
                object.append(("filename", .string(filename)))
                object.append(("filenameNormalized", .string(normalizeName(filename))))
            }
            object.append(("segments", .array(segments.map(JSONValue.string))))
            let value = JSONValue.object(object)
            return prefix.isEmpty ? ["path": value] : [prefix: .object([("path", value)])]
        }
        let p = prefix.isEmpty ? "path" : "\(prefix).path"
        var params: Params = [p: .string(path), "\(p).basename": .string(basename), "\(p).basenameNormalized": .string(basenameNormalized)]
        if let filename {
            params["\(p).filename"] = .string(filename)
            params["\(p).filenameNormalized"] = .string(normalizeName(filename))
        }
        for (i, s) in segments.enumerated() { params["\(p)[\(i)]"] = .string(s) }
        return params
    }
}
