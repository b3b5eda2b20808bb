import ArgumentParser
import FleetCLIKit
import FleetGit
import FleetModel
import Foundation

struct RepoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repo",
        abstract: "Inspect git repositories through the hub's mirror cache.",
        discussion: """
        REPO is a local path, a file:// URL or an https:// URL. Mirrors live in <data-dir>/git when a data directory \
        is named (--data-dir, $FLOTILLA_DATA_DIR), else in the user's cache ($XDG_CACHE_HOME/flotilla/git, else \
        ~/.cache/flotilla/git): a cache, never the hub's state.
        """,
        subcommands: [Fetch.self, Resolve.self, List.self, Cat.self]
    )

    struct Source: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Repository URL or path.") var repo: String
        @Option(help: "File holding a token for https access (sent as basic-auth password).") var tokenFile: String?
        @Option(help: "User name for https access (default with --token-file: x-access-token).") var username: String?

        func credentials() throws -> GitCredentials? {
            guard let tokenFile else { return nil }
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CLIError("--token-file: cannot read '\(tokenFile)'")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return GitCredentials(username: username ?? "x-access-token", password: token)
        }

        var cache: GitMirrorCache {
            if global.requested { return GitMirrorCache(root: URL(fileURLWithPath: global.resolvedDataDir).appendingPathComponent("git")) }
            let environment = ProcessInfo.processInfo.environment
            let home = DataDirectory.home(environment: environment, fallback: FileManager.default.homeDirectoryForCurrentUser.path)
            let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache"
            return GitMirrorCache(root: URL(fileURLWithPath: base).appendingPathComponent("flotilla/git"))
        }

        func open(fetch: Bool) throws -> GitRepository {
            fetch ? try cache.fetch(repo, credentials: credentials()) : try cache.open(repo, credentials: credentials())
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clone or update the mirror of a repository.")
        @OptionGroup var source: Source

        func run() throws {
            let repo = try source.open(fetch: true)
            let head = try repo.resolve("HEAD")
            print("\(GitURL.redacted(source.repo)) HEAD \(head.hex)")
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve a branch, tag or commit to a commit id.")
        @OptionGroup var source: Source
        @Argument(help: "Branch, tag, commit SHA or HEAD.") var revision: String = "HEAD"
        @Flag(help: "Fetch before resolving.") var fetch = false

        func run() throws {
            print(try source.open(fetch: fetch).resolve(revision).hex)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the directories and files of a commit.")
        @OptionGroup var source: Source
        @Option(name: .shortAndLong, help: "Revision.") var revision: String = "HEAD"
        @Flag(help: "Directories only.") var dirs = false
        @Flag(help: "Files only.") var files = false
        @Flag(help: "Fetch before listing.") var fetch = false

        func run() throws {
            let repo = try source.open(fetch: fetch)
            let tree = try repo.tree(at: repo.resolve(revision))
            for entry in tree.entries {
                let isDir = entry.kind == .directory
                if (dirs && !isDir) || (files && isDir) { continue }
                print(isDir ? entry.path + "/" : entry.path)
            }
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a file as of a revision.")
        @OptionGroup var source: Source
        @Argument(help: "Path inside the repository.") var path: String
        @Option(name: .shortAndLong, help: "Revision.") var revision: String = "HEAD"

        func run() throws {
            let repo = try source.open(fetch: false)
            FileHandle.standardOutput.write(try repo.readFile(path, at: repo.resolve(revision)))
        }
    }
}
