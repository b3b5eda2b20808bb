import Crypto
import FleetModel
import Foundation

/// Sprig's encodings and checksums.
enum SprigEncoding {
    static func s(_ v: TemplateValue) -> String { v.stringValue ?? "" }

    static let family: [TemplateFunction] = [
        F("b64enc", [.string]) { a, _ in .string(Data(s(a[0]).utf8).base64EncodedString()) },
        F("b64dec", [.string]) { a, _ in
            guard let d = Data(base64Encoded: s(a[0])) else { return .string("illegal base64 data at input byte \(badBase64Offset(s(a[0])))") }
            return .string(String(decoding: d, as: UTF8.self))
        },
        F("b32enc", [.string]) { a, _ in .string(base32Encode(Array(s(a[0]).utf8))) },
        F("b32dec", [.string]) { a, _ in
            guard let bytes = base32Decode(s(a[0])) else { return .string("illegal base32 data") }
            return .string(String(decoding: bytes, as: UTF8.self))
        },
        F("sha1sum", [.string]) { a, _ in .string(hex(Insecure.SHA1.hash(data: Array(s(a[0]).utf8)))) },
        F("sha256sum", [.string]) { a, _ in .string(Bytes.hex(SHA256.hash(data: Array(s(a[0]).utf8)))) },
        F("sha512sum", [.string]) { a, _ in .string(hex(SHA512.hash(data: Array(s(a[0]).utf8)))) },
        F("adler32sum", [.string]) { a, _ in .string(String(adler32(Array(s(a[0]).utf8)))) },
    ]

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func badBase64Offset(_ s: String) -> Int {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        return s.firstIndex { !alphabet.contains($0) }.map { s.distance(from: s.startIndex, to: $0) } ?? s.count
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    static let base32Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func base32Encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let chunk = Array(bytes[i..<min(i + 5, bytes.count)])
            var buffer = [UInt8](repeating: 0, count: 5)
            for (j, b) in chunk.enumerated() { buffer[j] = b }
            let bits = buffer.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let chars = [2, 4, 5, 7, 8][chunk.count - 1]
            for j in 0..<8 {
                out.append(j < chars ? base32Alphabet[Int((bits >> UInt64(35 - j * 5)) & 31)] : UInt8(ascii: "="))
            }
            i += 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base32Decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 8 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var bits: UInt64 = 0
            var count = 0
            for j in 0..<8 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") { bits <<= 5; continue }
                guard let v = base32Alphabet.firstIndex(of: c) else { return nil }
                bits = bits << 5 | UInt64(v)
                count += 1
            }
            let bytes = [0, 1, 1, 2, 2, 3, 4, 4, 5][count]
            for j in 0..<bytes { out.append(UInt8((bits >> UInt64(32 - j * 8)) & 0xFF)) }
            i += 8
        }
        return out
    }
}
