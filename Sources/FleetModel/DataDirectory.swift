/// Where the hub and the CLI keep their state: `--data-dir`, else `$FLOTILLA_DATA_DIR`, else `~/.flotilla`.
public enum DataDirectory {
    public static let environmentVariable = "FLOTILLA_DATA_DIR"

    public static func resolve(flag: String?, environment: [String: String], home: String) -> String {
        if let flag, !flag.isEmpty { return expand(flag, home: home) }
        if let env = environment[environmentVariable], !env.isEmpty { return expand(env, home: home) }
        return home.hasSuffix("/") ? home + ".flotilla" : home + "/.flotilla"
    }

    /// The user's home: `$HOME` when set (as shells and Go programs read it), else `fallback` (the account's
    /// home from the password database).
    public static func home(environment: [String: String], fallback: @autoclosure () -> String) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        return fallback()
    }

    private static func expand(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}
