import FleetGit
import Foundation

enum GitRepositoryWriterHelper {
    static func make(at dir: URL, files: [String: String]) throws -> GitRepositoryWriter {
        let writer = try GitRepositoryWriter(creatingAt: dir)
        try writer.commit(files: files.mapValues { Data($0.utf8) }, message: "initial")
        return writer
    }
}
