import FleetModel
import FleetStore
import Foundation
import Testing

private func freshDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-integrity-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// An emptied, damaged or lost database is refused with what to do, never opened as a fresh install; setting it
/// aside keeps the old file and lets a new store start.
@Test func damagedStoresAreRefused() throws {
    // A sound store with a cluster in it.
    let dir = try freshDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent(SQLiteClusterStore.fileName).path
    do {
        let store = try SQLiteClusterStore(directory: dir)
        _ = try store.update { $0.upsert(Cluster(name: "a", server: "https://1.2.3.4")) }
    }
    #expect(SQLiteClusterStore.problem(directory: dir) == nil)

    // Emptied: 0 bytes.
    let emptied = try freshDirectory()
    defer { try? FileManager.default.removeItem(at: emptied) }
    FileManager.default.createFile(atPath: emptied.appendingPathComponent(SQLiteClusterStore.fileName).path, contents: Data())
    #expect { try SQLiteClusterStore(directory: emptied) } throws: { "\($0)".contains("is empty (0 bytes)") && "\($0)".contains("--init") }

    // Garbage in the middle of the file.
    let damaged = try freshDirectory()
    defer { try? FileManager.default.removeItem(at: damaged) }
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    for i in stride(from: 4096, to: min(bytes.count, 4096 * 3), by: 1) { bytes[i] = 0xA5 }
    try bytes.write(to: damaged.appendingPathComponent(SQLiteClusterStore.fileName))
    #expect { try SQLiteClusterStore(directory: damaged) } throws: { "\($0)".contains("damaged") && !"\($0)".contains("SELECT") }

    // Lost: the key is there, the database is not.
    let lost = try freshDirectory()
    defer { try? FileManager.default.removeItem(at: lost) }
    try FileManager.default.copyItem(at: dir.appendingPathComponent("secret.key"), to: lost.appendingPathComponent("secret.key"))
    #expect { try SQLiteClusterStore(directory: lost) } throws: { "\($0)".contains("is missing") }

    // Set aside: the old file is kept under another name, a new store opens.
    let moved = try #require(try SQLiteClusterStore.setAside(directory: emptied))
    #expect(FileManager.default.fileExists(atPath: moved))
    #expect(try SQLiteClusterStore(directory: emptied).clusters().isEmpty)
}
