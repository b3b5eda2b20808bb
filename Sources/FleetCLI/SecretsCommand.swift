import ArgumentParser
import FleetCLIKit
import Foundation

/// `flotilla secrets rotate-key`: a new key for credentials at rest.
struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage the encryption of credentials at rest.",
        subcommands: [RotateKey.self])

    struct RotateKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Encrypt every stored credential with a new key and drop the old one.",
            discussion: """
            Cluster credentials are encrypted with AES-256-GCM; the key is in DATA_DIR/secret.key (mode 0600). Rotation
            writes the new key first, re-encrypts every credential in one transaction, then removes the old key: a crash
            at any point leaves a key file that opens everything. Run it where the hub's data directory is (the hub may
            keep running: it reads credentials through the store).
            """)
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let rotated = try global.openStore().rotateKey()
            print("credentials re-encrypted with key \(rotated.keyID): \(rotated.credentials) clusters")
        }
    }
}
