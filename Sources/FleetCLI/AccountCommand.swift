import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetModel
import Foundation

/// `flotilla account …`: accounts of the hub's API.
struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Manage the hub's accounts (each has a role; policy.csv can give more).",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.", discussion: "Example: flotilla account create alice --role role:readonly")
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Account name (DNS label).") var name: String
        @Option(help: "Role, e.g. role:admin, role:readonly, or a role of policy.csv.") var role: String
        func run() throws {
            _ = try hub.client.send("POST", "/api/v1/accounts", AccountInfo(name: name, role: role, createdAt: nil), answer: AccountInfo.self)
            print("account/\(name) created (\(role)); give it a token with `flotilla token create --account \(name)`")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.", aliases: ["ls"])
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let items = try hub.client.list(AccountInfo.self, "/api/v1/accounts")
            printList(items, output) {
                TextTable.render(header: ["NAME", "ROLE", "CREATED"], rows: items.map { [$0.name, $0.role, $0.createdAt ?? ""] })
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account and its tokens.", aliases: ["rm"])
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Account name.") var name: String
        func run() throws {
            _ = try hub.client.get(Deleted.self, "/api/v1/accounts/\(HubClient.escape(name))", method: "DELETE")
            print("account/\(name) deleted")
        }
    }
}

/// `flotilla token …`: API tokens. A token is shown once, when it is created; the hub keeps its hash.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token (printed once).")
        @OptionGroup var hub: ServerOptions
        @Option(help: "Account (default: the caller's own).") var account: String?
        @Option(help: "Validity, e.g. 24h, 30d (default: no expiry).") var expires: String?
        @Option(help: "What it is for.") var description: String = ""
        func run() throws {
            let target = try account ?? hub.client.get(WhoAmI.self, "/api/v1/whoami").account
            let made = try hub.client.send("POST", "/api/v1/accounts/\(HubClient.escape(target))/tokens", TokenRequest(expiresIn: expires, description: description),
                                           answer: TokenCreated.self)
            FileHandle.standardError.write(Data("token \(made.id) for \(target)\(made.expiresAt.map { ", expires \($0)" } ?? ""); it is not shown again:\n".utf8))
            print(made.token)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (yours, or all with get on accounts).", aliases: ["ls"])
        @OptionGroup var hub: ServerOptions
        @Option(help: "Only this account's.") var account: String?
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let query = account.map { "?account=" + HubClient.escape($0) } ?? ""
            let items = try hub.client.list(TokenInfo.self, "/api/v1/tokens" + query)
            printList(items, output) {
                TextTable.render(header: ["ID", "ACCOUNT", "CREATED", "EXPIRES", "REVOKED", "DESCRIPTION"], rows: items.map {
                    [$0.id, $0.account, $0.createdAt, $0.expiresAt ?? "never", $0.revokedAt ?? "-", $0.description]
                })
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it stops working at once.")
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Token id (from `token list`).") var id: String
        func run() throws {
            _ = try hub.client.get(Revoked.self, "/api/v1/tokens/\(HubClient.escape(id))", method: "DELETE")
            print("token/\(id) revoked")
        }
    }
}

/// `flotilla can-i ACTION RESOURCE OBJECT`: whether the caller's token may.
struct CanICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "can-i",
        abstract: "Check whether your token may do ACTION on RESOURCE OBJECT (exit status 0 yes, 1 no).",
        discussion: "Example: flotilla can-i sync applications team-apps/search-web-prod-eu")
    @OptionGroup var hub: ServerOptions
    @Argument(help: "get, create, update, delete, sync, rollback, override.") var action: String
    @Argument(help: "clusters, applicationsets, applications, projects, accounts, events.") var resource: String
    @Argument(help: "Object: a name, or APPLICATIONSET/NAME for applications.") var object: String = "*"
    func run() throws {
        let query = "action=\(HubClient.escape(action))&resource=\(HubClient.escape(resource))&object=\(HubClient.escape(object))"
        let allowed = try hub.client.get(CanI.self, "/api/v1/can-i?" + query).allowed
        print(allowed ? "yes" : "no")
        if !allowed { throw ExitCode(1) }
    }
}
