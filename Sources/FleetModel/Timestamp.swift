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

    /// Seconds since 1970 of an RFC 3339 UTC timestamp as `rfc3339` writes it (`Z`, optional fraction); nil otherwise.
    public static func seconds(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: b[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var fraction = 0.0
        if b.count > 20, b[19] == UInt8(ascii: "."), let f = Double("0" + String(decoding: b[19..<(b.count - 1)], as: UTF8.self)) { fraction = f }
        return Double(timegm(&parts)) + fraction
    }
}
