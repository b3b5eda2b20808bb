import FleetModel
import Testing

/// URLs compared by what they reach, not by text prefix.
@Test(arguments: [
    ("https://charts.example.com/stable/app.tgz", "https://charts.example.com/stable", true),
    ("https://charts.example.com/stable", "https://charts.example.com/stable/", true),
    ("https://CHARTS.example.com:443/stable/x", "https://charts.example.com/stable", true),
    ("https://charts.example.com/stable-evil/x", "https://charts.example.com/stable", false),
    ("https://charts.example.com.evil.net/x", "https://charts.example.com", false),
    ("http://charts.example.com@attacker.test:8080/x", "http://charts.example.com", false),
    ("http://charts.example.com/x", "https://charts.example.com", false),
    ("https://charts.example.com:8443/x", "https://charts.example.com", false),
    ("https://charts.example.com/x?y=1#z", "https://charts.example.com/x", true),
    ("https://[::1]:8443/r", "https://[::1]:8443", true),
])
func urlsAreComparedParsed(_ url: String, _ base: String, _ within: Bool) throws {
    let u = try #require(RepositoryURL(url))
    let b = try #require(RepositoryURL(base))
    #expect(u.isWithin(b) == within)
}

@Test func userInformationAndDotSegmentsAreSeen() throws {
    #expect(RepositoryURL("http://charts.example.com@attacker.test:8080/x")?.host == "attacker.test")
    #expect(RepositoryURL("http://charts.example.com@attacker.test:8080/x")?.hasUserInfo == true)
    #expect(RepositoryURL("https://charts.example.com/a/../b") == nil)
    #expect(RepositoryURL("https://charts.example.com/a/%2e%2e/b") == nil)
    #expect(RepositoryURL("https://charts.example.com\\@evil/x")?.hasUserInfo == true)
    #expect(RepositoryURL("https://charts.example.com\\evil/x") == nil)
    #expect(RepositoryURL("charts.example.com/x") == nil)
}
