//! The file operations the store makes, behind a trait: the operating system's in
//! production, a simulated disk that loses power in the tests.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

/// A directory tree as the store sees it.
pub(crate) trait Vfs: Send + Sync + fmt::Debug {
    /// Creates `dir` and its missing parents, private to the user (0700 where modes exist).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Opens `path` for reading and writing, creating it private (0600) when missing; a
    /// symbolic link is not followed. An existing file readable by others is made private.
    fn open_or_create(&self, path: &Path) -> io::Result<Box<dyn VFile>>;
    /// Creates a new private file (0600); fails if anything (even a dangling symbolic link)
    /// is at `path`.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VFile>>;
    /// Removes a file (a symbolic link itself, not its target); missing is not an error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Renames `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (files created, renamed or removed in it) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The wall clock: milliseconds since the Unix epoch (0 for a clock set before it). The
    /// deadlines of expiring messages are kept in it, since the session's clock starts again
    /// with each process.
    fn wall_ms(&self) -> u64 {
        system_wall_ms()
    }
}

/// The system's wall clock in milliseconds since the Unix epoch.
pub(crate) fn system_wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An open file.
pub(crate) trait VFile: Send + fmt::Debug {
    /// The whole file, from its start; leaves the position at its end.
    fn read_all(&mut self) -> io::Result<Vec<u8>>;
    /// Writes all of `buf` at the current position (the end of what the store keeps).
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, leaving the position where it was.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()>;
    /// Cuts (or extends) the file to `len` bytes and puts the position there.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Makes the file's data and metadata durable (`fsync`).
    fn sync_all(&mut self) -> io::Result<()>;
    /// Takes an exclusive advisory lock without waiting: `Ok(false)` when another holds it.
    fn try_lock(&mut self) -> io::Result<bool>;
    /// Whether `path` names this very file (it was not replaced since it was opened).
    fn is_at(&self, path: &Path) -> io::Result<bool>;
}

/// The operating system's file system.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OsFs;

#[derive(Debug)]
struct OsFile(File);

#[cfg(unix)]
fn private(o: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    o.mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
}

#[cfg(not(unix))]
fn private(o: &mut OpenOptions) -> &mut OpenOptions {
    o
}

impl Vfs for OsFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
    }

    fn open_or_create(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        let f = private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = f.metadata()?.permissions().mode();
            if mode & 0o077 != 0 {
                f.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
            }
        }
        Ok(Box::new(OsFile(f)))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        let f = private(OpenOptions::new().read(true).write(true).create_new(true)).open(path)?;
        Ok(Box::new(OsFile(f)))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            File::open(dir)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            Ok(())
        }
    }
}

impl VFile for OsFile {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        self.0.seek(SeekFrom::Start(0))?;
        let len = self.0.metadata()?.len();
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        self.0.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
        }
        #[cfg(not(unix))]
        {
            let back = self.0.stream_position()?;
            self.0.seek(SeekFrom::Start(offset))?;
            let r = self.0.write_all(buf);
            self.0.seek(SeekFrom::Start(back))?;
            r
        }
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        self.0.seek(SeekFrom::Start(len))?;
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn try_lock(&mut self) -> io::Result<bool> {
        match fs4::fs_std::FileExt::try_lock_exclusive(&self.0) {
            Ok(got) => Ok(got),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn is_at(&self, path: &Path) -> io::Result<bool> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let mine = self.0.metadata()?;
            match fs::symlink_metadata(path) {
                Ok(there) => Ok(mine.dev() == there.dev() && mine.ino() == there.ino()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(true)
        }
    }
}
