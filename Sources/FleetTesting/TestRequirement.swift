import Foundation

/// What a test needs from the machine (PostgreSQL's programs, Chromium, the Python Kubernetes client). On a
/// developer's machine a missing one disables the test visibly, with its reason; in CI (`CI` set to `true` or
/// `1`) the test runs anyway and fails on the missing piece, so that CI can never pass by skipping.
public enum TestRequirement {
    /// The environment says this is a CI run.
    public static var inCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased()
        return value == "true" || value == "1"
    }

    /// Whether a test that needs something `available` runs here: when it is there, and always in CI.
    public static func runs(_ available: @autoclosure () -> Bool) -> Bool { inCI || available() }
}
