import FleetAPI
import FleetDashboard
import FleetModel
import Foundation

extension HubAPI {
    /// `GET /ui/live`: server-sent events for an open page. `clusters=1`: a `cluster` event for each tile that
    /// changed (state, counts, moved Applications); `apps=A,B`: an `app` event when one of them changes (sync,
    /// health, where it runs); `events=1`: an `event` for each new entry of the event log. Only what the viewer
    /// may get is sent. The stream ends when the client leaves or the hub stops.
    /// Live streams one account may hold open at once (pages in tabs); more are refused with 429, so one
    /// account cannot make the hub diff for thousands of streams.
    public static let maxLiveStreamsPerAccount = 8

    func liveStream(_ r: APIRequest, viewer: PageViewer) -> APIResponse {
        let caller = viewer.caller
        let streams = hub.context.liveStreams
        let admitted = streams.withLockedValue { open -> Bool in
            guard open[caller.account, default: 0] < Self.maxLiveStreamsPerAccount else { return false }
            open[caller.account, default: 0] += 1
            return true
        }
        guard admitted else {
            return APIResponse.error(429, "account \(caller.account) has \(Self.maxLiveStreamsPerAccount) live pages open already: close one (the limit is per account)")
        }
        let watch = LiveFeed.Watch(
            clusters: r.query["clusters"] == "1" && hub.can(caller, "get", "clusters", "*"),
            apps: Array((r.query["apps"] ?? "").split(separator: ",").map(String.init).prefix(500)),
            events: r.query["events"] == "1" && hub.can(caller, "get", "events", "*"))
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        LiveFeed(api: self, watch: watch, visible: visibility(caller)).start(continuation) { [account = caller.account] in
            streams.withLockedValue { open in
                open[account, default: 1] -= 1
                if open[account] ?? 0 <= 0 { open.removeValue(forKey: account) }
            }
        }
        var response = APIResponse(status: 200, contentType: "text/event-stream; charset=utf-8", body: "")
        response.headers = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
        response.stream = stream
        return response
    }
}

/// One open page's live stream: every half second it compares what the page shows with the hub's state and sends
/// what changed. It runs on a queue of its own (it reads the store), never on Swift's cooperative pool.
final class LiveFeed: @unchecked Sendable {
    struct Watch {
        let clusters: Bool
        let apps: [String]
        let events: Bool
    }

    static let interval = 0.5
    static let keepAlive = 15.0

    private let api: HubAPI
    private let watch: Watch
    private let visible: Visibility
    private let queue = DispatchQueue(label: "flotilla.dashboard.live")
    // Touched only on `queue`.
    private var timer: (any DispatchSourceTimer)?
    private var tiles: [String: Tile] = [:]
    private var apps: [String: String] = [:]
    private var boardVersion = -1
    private var counts: [String: StatusCounts] = [:]
    private var moved: [String: [String: Int]] = [:]
    private var lastEvent = 0
    private var quiet = 0.0

    init(api: HubAPI, watch: Watch, visible: Visibility) {
        self.api = api
        self.watch = watch
        self.visible = visible
    }

    /// Starts the feed; `ended` runs once when the stream ends (the client left, the hub stops).
    func start(_ out: AsyncStream<String>.Continuation, ended: @escaping @Sendable () -> Void = {}) {
        queue.async { [self] in
            // The stream's starting point; 0 (unreadable) replays the recent events, which is harmless.
            if watch.events {
                lastEvent = api.hub.context.attempt(.storeRead, "read the last event for a live stream") {
                    try api.hub.store.events(cluster: nil, application: nil, after: 0, limit: 1)
                }?.last?.id ?? 0
            }
            out.yield("retry: 2000\n\n")
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now(), repeating: Self.interval)
            timer.setEventHandler { [self] in tick(out) }
            self.timer = timer
            timer.resume()
        }
        out.onTermination = { [self] _ in
            ended()
            queue.async { [self] in
                timer?.cancel()
                timer = nil
            }
        }
    }

    static func message(_ event: String, _ data: JSONValue) -> String { "event: \(event)\ndata: \(data.serialized(pretty: false))\n\n" }

    private func tick(_ out: AsyncStream<String>.Continuation) {
        let hub = api.hub
        if hub.context.isStopping {
            out.finish()
            timer?.cancel()
            return
        }
        var messages: [String] = []
        do {
            let version = hub.context.board.version
            if version != boardVersion {
                let live = hub.context.board
                try live.read(hub.store) { board, version in
                    if watch.clusters {
                        (counts, moved) = live.aggregate("clusters", board: board, version: version, shared: visible == nil) {
                            ($0.countsByCluster(visible: visible), $0.moved(visible: visible))
                        }
                    }
                    for name in watch.apps {
                        guard let e = board[name], visible?(e) ?? true else { continue }
                        let data = ApplicationRow(e).live
                        let text = data.serialized(pretty: false)
                        if apps[name] != text {
                            messages.append(Self.message("app", data))
                            apps[name] = text
                        }
                    }
                }
                boardVersion = version
            }
            if watch.clusters {
                for card in try api.clusterCards() {
                    let tile = Tile(card, counts: counts[card.name] ?? StatusCounts(), movedTo: moved[card.name] ?? [:])
                    if tiles[card.name] != tile {
                        messages.append(Self.message("cluster", tile.live))
                        tiles[card.name] = tile
                    }
                }
            }
            if watch.events {
                for e in try hub.store.events(cluster: nil, application: nil, after: lastEvent, limit: 200) {
                    messages.append(Self.message("event", EventLog.json(e)))
                    lastEvent = max(lastEvent, e.id)
                }
            }
        } catch {
            hub.logger.warning("dashboard live stream: \(error)")
        }
        quiet += Self.interval
        if messages.isEmpty && quiet >= Self.keepAlive {
            // A comment line: keeps proxies from closing the stream, and tells the server when the client has left.
            messages.append(": keep-alive\n\n")
        }
        if !messages.isEmpty {
            quiet = 0
            if case .terminated = out.yield(messages.joined()) {
                timer?.cancel()
                timer = nil
            }
        }
    }
}
