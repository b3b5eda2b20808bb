import Crypto
import CryptoExtras
import FleetModel
import Foundation

/// Sprig's crypto functions: `uuidv4`, `randBytes`, `derivePassword` (Master Password), `encryptAES` and
/// `decryptAES`. Key and certificate generation (`genPrivateKey`, `genCA`, …) and `bcrypt`/`htpasswd` are
/// refused by name: a generated key in a rendered Application would change on every render.
enum SprigCrypto {
    static let family: [TemplateFunction] = [
        F("uuidv4") { _, _ in .string(UUID().uuidString.lowercased()) },
        F("randBytes", [.int]) { a, _ in
            let n = SprigStrings.i(a[0])
            return .string(Data((0..<max(0, n)).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        },
        F("derivePassword", [.uint32, .string, .string, .string, .string]) { a, ctx in
            // Scrypt with N=32768 is deliberately costly: charge it so a loop of them hits maxSteps.
            try ctx.budget.charge(1_000_000)
            guard case .uint(let counter, _) = a[0] else { return .string("") }
            return .string(try derivePassword(counter: UInt32(counter), type: a[1].stringValue!, password: a[2].stringValue!,
                                              user: a[3].stringValue!, site: a[4].stringValue!))
        },
        F("encryptAES", [.string, .string]) { a, _ in .string(try encryptAES(password: a[0].stringValue!, plaintext: a[1].stringValue!)) },
        F("decryptAES", [.string, .string]) { a, _ in .string(try decryptAES(password: a[0].stringValue!, ciphertext: a[1].stringValue!)) },
    ] + ["bcrypt", "htpasswd", "genPrivateKey", "buildCustomCert", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
         "genSignedCert", "genSignedCertWithKey"].map { name in
        F(name, [], variadic: .any) { _, _ in
            throw Sprig.fail("\(name) is not supported: it generates secrets anew on every render, which a GitOps render must not do")
        }
    }

    static let templates: [String: [String]] = [
        "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long": ["CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv", "CvccCvcvCvcvno", "CvcvnoCvccCvcv",
                 "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc", "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv",
                 "CvccCvccCvcvno", "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc", "CvccCvcvCvccno"],
        "medium": ["CvcnoCvc", "CvcCvcno"],
        "short": ["Cvcn"],
        "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
        "pin": ["nnnn"],
    ]

    static let characters: [Character: [UInt8]] = [
        "V": Array("AEIOU".utf8), "C": Array("BCDFGHJKLMNPQRSTVWXYZ".utf8), "v": Array("aeiou".utf8), "c": Array("bcdfghjklmnpqrstvwxyz".utf8),
        "A": Array("AEIOUBCDFGHJKLMNPQRSTVWXYZ".utf8), "a": Array("AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz".utf8),
        "n": Array("0123456789".utf8), "o": Array("@&%?,=[]_:-+*$#!'^~;()/.".utf8),
        "x": Array("AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()".utf8),
    ]

    static func bigEndian(_ n: UInt32) -> [UInt8] { [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] }

    /// The Master Password algorithm, as Sprig implements it.
    static func derivePassword(counter: UInt32, type: String, password: String, user: String, site: String) throws -> String {
        guard let choices = templates[type] else { return "cannot find password template \(type)" }
        let seed = Array("com.lyndir.masterpassword".utf8)
        let salt = seed + bigEndian(UInt32(user.utf8.count)) + Array(user.utf8)
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 64, rounds: 32768, blockSize: 8, parallelism: 2)
        let message = seed + bigEndian(UInt32(site.utf8.count)) + Array(site.utf8) + bigEndian(counter)
        let mac = Array(HMAC<Crypto.SHA256>.authenticationCode(for: message, using: key))
        let template = Array(choices[Int(mac[0]) % choices.count])
        var out: [UInt8] = []
        for (i, element) in template.enumerated() {
            let chars = characters[element]!
            out.append(chars[Int(mac[i + 1]) % chars.count])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func aesKey(_ password: String) -> SymmetricKey {
        var key = [UInt8](repeating: 0, count: 32)
        for (i, b) in password.utf8.prefix(32).enumerated() { key[i] = b }
        return SymmetricKey(data: key)
    }

    static func encryptAES(password: String, plaintext: String) throws -> String {
        if plaintext.isEmpty { return "" }
        let iv = AES._CBC.IV()
        let sealed = try AES._CBC.encrypt(Array(plaintext.utf8), using: aesKey(password), iv: iv)
        return (Data(Array(iv)) + sealed).base64EncodedString()
    }

    static func decryptAES(password: String, ciphertext: String) throws -> String {
        guard let data = Data(base64Encoded: ciphertext) else { throw Sprig.fail("illegal base64 data") }
        guard data.count >= 16, (data.count - 16) % 16 == 0 else { throw Sprig.fail("ciphertext too short") }
        let iv = try AES._CBC.IV(ivBytes: Array(data.prefix(16)))
        let plain = try AES._CBC.decrypt(Array(data.dropFirst(16)), using: aesKey(password), iv: iv)
        return String(decoding: plain, as: UTF8.self)
    }
}
