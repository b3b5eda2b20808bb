import Foundation

/// RFC 3339 timestamps in UTC (`2026-11-23T20:49:40Z`, or with milliseconds), formatted without Foundation's
/// date formatters, which are costly to create and are created per call in hot paths otherwise.
public enum Timestamp {
    public static func rfc3339(_ date: Date = Date(), milliseconds: Bool = false) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        if milliseconds { text += "." + pad(Int32(((seconds - seconds.rounded(.down)) * 1000).rounded(.down)), 3) }
        return text + "Z"
    }
}
