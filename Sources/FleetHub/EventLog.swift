import FleetAPI
import FleetKube
import FleetModel
import FleetStore
import Foundation
import Logging
import ServiceLifecycle

/// The hub's event log and notifications. Events are written by the store in the transaction of the change
/// they describe; once committed, the store hands each to `announce`, which logs it and sends it to the
/// notification webhooks that take its type, one at a time on `queue`.
///
/// As a `Service` it runs until the hub stops, then waits (a few seconds at most) for notifications already
/// queued, so a failover announced just before a shutdown is not lost on the way out.
public final class EventLog: Service, Sendable {
    let context: HubContext
    /// Notifications are sent here, one at a time, in the order of the events.
    private let queue = DispatchQueue(label: "flotilla.hub.notify")

    init(context: HubContext) {
        self.context = context
        context.store.onEvent { [weak self] event in self?.announce(event) }
    }

    /// Appends an event of its own (not part of another change) to the log.
    func record(_ type: HubEventType, cluster: String? = nil, application: String? = nil, _ message: String) {
        do { try context.store.appendEvent(HubEvent(type, cluster: cluster, application: application, message: message)) } catch {
            context.logger.error("cannot record event \(type.rawValue): \(error)")
        }
    }

    /// Logs a committed event (with its id) and queues it for the notification webhooks that take its type.
    func announce(_ e: HubEvent) {
        let logger = context.logger
        switch e.severity {
        case .warning: logger.warning("\(e.type): \(e.message)")
        case .info: logger.info("\(e.type): \(e.message)")
        case .detail: logger.debug("\(e.type): \(e.message)")
        }
        let targets = context.config.notifications
        guard !targets.isEmpty else { return }
        let body = Self.json(e, at: e.at.isEmpty ? HubContext.timestamp(context.now()) : e.at)
        for (index, target) in targets.enumerated() where target.events.isEmpty || target.events.contains(e.type) {
            queue.async {
                let payload: JSONValue = target.format == .slack ? .object([("text", .string("*\(e.type)* \(e.message)"))]) : body
                Self.post(payload, to: target.url, index: index, logger: logger)
            }
        }
    }

    private static func post(_ payload: JSONValue, to address: String, index: Int, logger: Logger) {
        guard let url = URLComponents(string: address), let scheme = url.scheme, let host = url.host else { return }
        let server = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
        let path = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?\($0)" } ?? "")
        let transport = HTTPTransport(server: server, credentials: .none, timeout: 5)
        do {
            let response = try transport.request("POST", path, body: Array(payload.serialized(pretty: false).utf8), contentType: "application/json")
            if !(200..<300).contains(response.status) { logger.warning("notification \(index + 1) answered \(response.status)") }
        } catch {
            // The URL may hold a token (Slack webhooks do): it is not logged.
            logger.warning("notification \(index + 1) could not be sent")
        }
    }

    /// An event as the API and the notifications show it.
    public static func json(_ e: HubEvent, at: String? = nil) -> JSONValue {
        var event = e
        if let at { event.at = at }
        return APIJSON.value(event)
    }

    /// Waits up to `timeout` seconds for the notifications queued so far. Returns whether they were all sent.
    @discardableResult
    func flush(timeout: Double) -> Bool {
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + timeout) == .success
    }

    public func run() async throws {
        await untilShutdown()
        // Flush logs what it could not send.
        _ = await shutdownWork("notifications") { [self] in flush(timeout: 5) }
    }
}
