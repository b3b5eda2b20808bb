import Crypto
import FleetModel
import Foundation

/// Encryption of credentials at rest: AES-256-GCM with keys kept in a key file next to the database
/// (`secret.key`, mode 0600, created on first use). The file holds one key per line, `ID BASE64`; the first
/// is the one that encrypts, the others only decrypt (during a rotation). A sealed value is
/// `FLE1` + the key id (8 bytes) + nonce, ciphertext and tag.
public final class CredentialKeyring: @unchecked Sendable {
    static let magic = Array("FLE1".utf8)
    public let path: String
    // `lock` guards `loaded` and `modified`: the file is read again when it changes (a rotation by another
    // process), so a running hub follows `flotilla secrets rotate-key`.
    private let lock = NSLock()
    private var loaded: [(id: String, key: SymmetricKey)]
    private var modified: Date?

    private var keys: [(id: String, key: SymmetricKey)] {
        let now = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        return lock.withLock {
            if let now, now != modified, let fresh = try? Self.read(path), !fresh.isEmpty {
                loaded = fresh
                modified = now
            }
            return loaded
        }
    }

    /// Reads the key file, creating it with a new key when there is none.
    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            try Self.write([Self.newKey()], to: path)
        }
        loaded = try Self.read(path)
        modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        if loaded.isEmpty { throw StoreError(message: "key file \(path) holds no key") }
    }

    private init(path: String, keys: [(id: String, key: SymmetricKey)]) {
        self.path = path
        loaded = keys
        modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
    }

    public var currentKeyID: String { keys[0].id }

    static func newKey() -> (id: String, key: SymmetricKey) {
        let key = SymmetricKey(size: .bits256)
        let id = Bytes.randomHex(4)
        return (id, key)
    }

    static func read(_ path: String) throws -> [(id: String, key: SymmetricKey)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StoreError(message: "cannot read key file \(path)") }
        var keys: [(String, SymmetricKey)] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") && !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[0].utf8.count == 8, let data = Data(base64Encoded: String(parts[1])), data.count == 32 else {
                throw StoreError(message: "key file \(path): line \(n + 1) is not 'ID BASE64' with a 256-bit key")
            }
            keys.append((String(parts[0]), SymmetricKey(data: data)))
        }
        return keys
    }

    /// Writes keys atomically (a new file renamed over the old one), owner-only.
    static func write(_ keys: [(id: String, key: SymmetricKey)], to path: String) throws {
        var text = "# Flotilla credential keys: the first encrypts. Keep this file secret and backed up with the database.\n"
        for (id, key) in keys { text += "\(id) \(key.withUnsafeBytes { Data($0) }.base64EncodedString())\n" }
        let temporary = path + ".new"
        FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        guard rename(temporary, path) == 0 else { throw StoreError(message: "cannot write key file \(path)") }
    }

    public func seal(_ plaintext: Data) throws -> Data {
        let current = keys[0]
        let box = try AES.GCM.seal(plaintext, using: current.key)
        guard let combined = box.combined else { throw StoreError(message: "cannot encrypt") }
        return Data(Self.magic) + Data(current.id.utf8) + combined
    }

    /// Whether `data` is sealed (rather than plaintext from before encryption).
    static func isSealed(_ data: Data) -> Bool { data.count > 12 && Array(data.prefix(4)) == magic }

    public func open(_ data: Data) throws -> Data {
        guard Self.isSealed(data) else { return data }
        let id = String(decoding: data.dropFirst(4).prefix(8), as: UTF8.self)
        guard let key = keys.first(where: { $0.id == id })?.key else {
            throw StoreError(message: "credentials are encrypted with key \(id), which \(path) does not hold")
        }
        return try AES.GCM.open(try AES.GCM.SealedBox(combined: data.dropFirst(12)), using: key)
    }

    /// A keyring with a new encrypting key first and the current keys after it, written to the file.
    func rotatedAndSaved() throws -> CredentialKeyring {
        let next = [Self.newKey()] + keys
        try Self.write(next, to: path)
        lock.withLock { loaded = next }
        return CredentialKeyring(path: path, keys: next)
    }

    /// Keeps only the encrypting key (after every value was sealed again with it).
    func dropOldKeys() throws {
        let current = keys[0]
        try Self.write([current], to: path)
    }
}
