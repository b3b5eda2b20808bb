import CZlib
import Foundation

/// A chart archive (`.tgz`): gzip over a POSIX tar, as `helm package` writes it. Pure: bytes in, files out.
public enum ChartArchive {
    /// The largest archive Flotilla expands (helm refuses charts above 20 MiB of decompressed files too).
    public static let maxExpandedBytes = 64 << 20

    /// The regular files of a `.tgz`, by path inside the archive (`mychart/templates/a.yaml`).
    public static func files(tgz data: [UInt8], name: String) throws -> [String: [UInt8]] {
        try untar(gunzip(data, name: name), name: name)
    }

    /// Inflates gzip (or zlib) data.
    public static func gunzip(_ data: [UInt8], name: String) throws -> [UInt8] {
        guard data.count >= 2, data[0] == 0x1f, data[1] == 0x8b else {
            throw HelmError(.badArchive, "\(name): not a gzip-compressed chart archive")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw HelmError(.badArchive, "\(name): cannot start decompression")
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 4)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var input = data
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    if status != Z_OK && status != Z_STREAM_END {
                        throw HelmError(.badArchive, "\(name): corrupt gzip data (zlib status \(status))")
                    }
                    out.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
                }
                if out.count > maxExpandedBytes {
                    throw HelmError(.badArchive, "\(name): expands beyond \(maxExpandedBytes >> 20) MiB")
                }
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw HelmError(.badArchive, "\(name): truncated gzip data")
                }
            } while status != Z_STREAM_END
        }
        return out
    }

    /// Regular files of a tar stream (ustar, GNU long names, pax `path` records).
    public static func untar(_ tar: [UInt8], name: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        var offset = 0
        var longName: String?
        while offset + 512 <= tar.count {
            let header = tar[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { break }
            func field(_ start: Int, _ length: Int) -> String {
                let bytes = header[(offset + start)..<(offset + start + length)].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            let sizeText = field(124, 12).trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText.isEmpty ? "0" : sizeText, radix: 8), size >= 0 else {
                throw HelmError(.badArchive, "\(name): corrupt tar header at byte \(offset)")
            }
            let type = header[offset + 156]
            var path = field(0, 100)
            if field(257, 6).hasPrefix("ustar") {
                let prefix = field(345, 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            let start = offset + 512
            guard start + size <= tar.count else { throw HelmError(.badArchive, "\(name): truncated tar entry \(path)") }
            let body = Array(tar[start..<start + size])
            offset = start + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "L"):  // GNU long name for the next entry
                longName = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "x"):  // pax extended header
                if let p = paxPath(body) { longName = p }
                continue
            case UInt8(ascii: "g"):
                continue
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                let entry = longName ?? path
                longName = nil
                let clean = try cleanPath(entry, archive: name)
                if clean.isEmpty { continue }
                files[clean] = body
            default:
                longName = nil  // directories, links: not chart content
            }
        }
        return files
    }

    static func paxPath(_ body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let record = line[line.index(after: space)...]
            if record.hasPrefix("path=") { return String(record.dropFirst(5)) }
        }
        return nil
    }

    /// Archive paths may not leave the archive (`../`, absolute paths), as helm's loader refuses them.
    static func cleanPath(_ path: String, archive: String) throws -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw HelmError(.badArchive, "\(archive): chart illegally contains content outside the base directory: \"\(path)\"") }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }
}
