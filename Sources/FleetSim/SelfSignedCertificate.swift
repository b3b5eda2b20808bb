import Foundation

/// A self-signed certificate for `127.0.0.1` and `localhost`, made with the `openssl` command, for serving
/// simulated clusters over HTTPS. The certificate is its own CA: clients trust it with `caFile`.
public enum SelfSignedCertificate {
    public struct Files: Sendable {
        public let certificate: String
        public let key: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes `sim.crt` and `sim.key` (0600) into `directory`.
    public static func make(in directory: URL, commonName: String = "flotilla-sim") throws -> Files {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let cert = directory.appendingPathComponent("sim.crt").path, key = directory.appendingPathComponent("sim.key").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=\(commonName)",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-addext", "basicConstraints=critical,CA:TRUE"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure(description: "cannot run openssl to make a certificate: \(error) (install the openssl package, or pass --tls-cert and --tls-key)")
        }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl could not make a certificate (exit \(process.terminationStatus)): \(message.prefix(300))")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        return Files(certificate: cert, key: key)
    }
}
