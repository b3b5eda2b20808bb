import FleetHelm
import Foundation

/// Reads a chart from disk: a chart directory or a `.tgz` archive.
public enum HelmChartFiles {
    /// Charts larger than this (files read) are refused.
    public static let maxChartBytes = 64 << 20

    public static func load(path: String) throws -> Chart {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw HelmError(.badChart, "\(path): no such chart directory or archive")
        }
        if !isDir.boolValue {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try ChartLoader.load(tgz: [UInt8](data), origin: URL(fileURLWithPath: path).lastPathComponent)
        }
        let files = try readDirectory(path)
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        return try ChartLoader.load(files: files, origin: name)
    }

    /// Every regular file under `path`, by relative path (links are not followed; `.git` is skipped).
    public static func readDirectory(_ path: String) throws -> [String: [UInt8]] {
        let root = URL(fileURLWithPath: path).standardizedFileURL
        var files: [String: [UInt8]] = [:]
        var total = 0
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else {
            throw HelmError(.badChart, "\(path): cannot read the chart directory")
        }
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in walker {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if url.lastPathComponent == ".git" { walker.skipDescendants(); continue }
            guard values.isRegularFile == true, values.isSymbolicLink != true else { continue }
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(prefix) else { continue }
            let data = try Data(contentsOf: url)
            total += data.count
            if total > maxChartBytes { throw HelmError(.badChart, "\(path): chart is larger than \(maxChartBytes >> 20) MiB") }
            files[String(full.dropFirst(prefix.count))] = [UInt8](data)
        }
        return files
    }
}
