import FleetConfig
import FleetHub
import FleetModel
import Foundation
import Testing

/// The hub assesses health with the Lua scripts of its configuration: a kind whose script says Degraded makes the
/// Application Degraded with the script's message.
@Test func theHubAssessesHealthWithItsLuaChecks() async throws {
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {ready: 'no'}\n"],
                                         appSet: perCluster) { config in
        config.resourceCustomizations.health = ["/ConfigMap": """
            if obj.data ~= nil and obj.data.ready == "yes" then return {status = "Healthy"} end
            return {status = "Degraded", message = "ConfigMap " .. obj.metadata.name .. " is not ready"}
            """]
    }
    try await eventually("a-live assessed by its Lua check", timeout: 20) {
        let status = try fixture.hub.store.application(named: "a-live")?.status
        return status?.value(at: ["health", "status"])?.stringValue == "Degraded"
            && status?.value(at: ["health", "message"])?.stringValue?.contains("ConfigMap c is not ready") == true
    }
    await fixture.stop()
}
