import FleetAPI
import FleetModel
import Foundation
import Mustache

/// The sections of the dashboard, in the order the navigation shows them.
public enum Section: String, Sendable, CaseIterable {
    case fleet, applications, preview, events, login, error

    var label: String {
        switch self {
        case .fleet: "Fleet"
        case .applications: "Applications"
        case .preview: "ApplicationSet preview"
        case .events: "Events"
        case .login: "Log in"
        case .error: "Error"
        }
    }

    var href: String { "/ui/\(rawValue)" }
}

/// Who is looking, and the CSRF token their forms carry.
public struct Viewer: Sendable {
    public var account: String
    public var role: String
    public var csrf: String

    public init(account: String, role: String, csrf: String) {
        self.account = account
        self.role = role
        self.csrf = csrf
    }
}

/// A message shown once at the top of a page (after a button's action).
public struct Flash: Sendable {
    public var message: String
    public var tone: Tone

    public init(_ message: String, tone: Tone = .good) {
        self.message = message
        self.tone = tone
    }
}

/// What the layout shows around every page.
struct Chrome {
    struct NavItem { let href: String, label: String, current: Bool }
    struct User { let account: String, role: String, csrf: String, nav: [NavItem] }
    struct FlashView { let message: String, tone: String }

    let title: String
    let page: String
    let user: User?
    let flash: FlashView?
    /// The live-update stream this page follows (`/ui/live?…`), nil for none.
    let live: String?

    init(_ section: Section, title: String, viewer: Viewer?, flash: Flash? = nil, live: String? = nil) {
        self.title = title
        page = section.rawValue
        user = viewer.map { v in
            User(account: v.account, role: v.role, csrf: v.csrf,
                 nav: [Section.fleet, .applications, .preview, .events].map { NavItem(href: $0.href, label: $0.label, current: $0 == section) })
        }
        self.flash = flash.map { FlashView(message: $0.message, tone: $0.tone.cssClass) }
        self.live = live
    }
}

/// Renders the pages. The templates are parsed once; rendering only reads them.
public struct Renderer: Sendable {
    private let library: MustacheLibrary

    public init() {
        var library = MustacheLibrary()
        for (name, text) in Templates.all {
            // The templates are constants of this module: one that does not parse is a programming error.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    func render(_ template: String, _ view: Any) -> String { library.render(view, withTemplate: template) ?? "" }
}

/// Percent-encodes a value for a query string or a path segment.
public func urlEncode(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

/// A query string from pairs, leaving out empty values.
func query(_ pairs: [(String, String?)]) -> String {
    let parts = pairs.compactMap { key, value -> String? in
        guard let value, !value.isEmpty else { return nil }
        return "\(key)=\(urlEncode(value))"
    }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
}

/// The path of an Application's page.
public func applicationPath(_ name: String) -> String { "/ui/applications/\(urlEncode(name))" }

/// A unified diff as lines with a class each (added, removed, hunk header, context).
struct DiffLine {
    let text: String
    let cls: String

    static func lines(_ diff: String?) -> [DiffLine] {
        guard let diff, !diff.isEmpty else { return [] }
        return diff.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let cls = line.hasPrefix("+++") || line.hasPrefix("---") ? "file"
                : line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : line.hasPrefix("@@") ? "hunk" : "ctx"
            return DiffLine(text: String(line), cls: cls)
        }
    }
}

/// One object's diff as the pages show it. Every field a template reads is stored: the Mustache renderer
/// reads values by reflection, which sees no computed property.
struct DiffView {
    let kind: String, namespace: String, name: String, status: String, tone: String
    let lines: [DiffLine]
    let hasLines: Bool
    /// Objects not Synced are shown open.
    let open: Bool

    init(_ r: ResourceDiff) {
        kind = r.kind
        namespace = r.namespace ?? ""
        name = r.name
        status = r.status
        tone = Tone.of(sync: SyncStatus(text: r.status)).cssClass
        lines = DiffLine.lines(r.diff)
        hasLines = !lines.isEmpty
        open = r.status != "Synced"
    }
}

/// A choice of a `<select>`.
struct Option {
    let value: String, label: String, selected: Bool

    static func list(_ values: [String], selected: String?, any: String) -> [Option] {
        [Option(value: "", label: any, selected: selected == nil)] + values.map { Option(value: $0, label: $0, selected: $0 == selected) }
    }
}

extension Renderer {
    public func error(status: Int, message: String, viewer: Viewer?) -> String {
        struct View { let chrome: Chrome, heading: String, message: String }
        let heading = switch status {
        case 403: "Not allowed"
        case 404: "Not found"
        case 400, 422: "Bad request"
        default: "Something went wrong"
        }
        return render("error", View(chrome: Chrome(.error, title: heading, viewer: viewer), heading: heading, message: message))
    }

    public func login(nonce: String, next: String, problem: String?) -> String {
        struct View { let chrome: Chrome, nonce: String, next: String, problem: String? }
        return render("login", View(chrome: Chrome(.login, title: "Log in", viewer: nil), nonce: nonce, next: next, problem: problem))
    }
}
