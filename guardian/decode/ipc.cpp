// System V IPC (shared memory, message queues, semaphores): the objects live outside any
// file system, in a table the user's other programs share, and are reached by number. A
// session may use the objects it made, never another program's: attaching another's
// segment reads and writes that program's memory, receiving from its queue takes its
// messages. The get calls are performed here, so we know which numbers the session made.
// POSIX message queues are decided as files below /dev/mqueue.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

namespace {

enum Kind { kShm = 0, kMsg = 1, kSem = 2 };
constexpr const char* kNames[] = {"shm", "msg", "sem"};

// The get call of `kind` as the tracee asked it (`extra`: shmget's size, semget's count).
long get(int kind, key_t key, std::uint64_t extra, int flags) {
  long rc = kind == kShm   ? ::shmget(key, static_cast<std::size_t>(extra), flags)
            : kind == kMsg ? ::msgget(key, flags)
                           : ::semget(key, static_cast<int>(extra), flags);
  return rc < 0 ? -errno : rc;
}

// ctl commands that name no object of the session's: the table's limits and usage (id
// ignored) and the per-index STAT forms (metadata, as `ipcs` lists: keys, sizes, owners).
bool ctl_metadata(int kind, int cmd) {
  cmd &= ~0x100;  // IPC_64
  if (cmd == IPC_INFO) return true;
  switch (kind) {
    case kShm: return cmd == SHM_INFO || cmd == SHM_STAT || cmd == 15 /* SHM_STAT_ANY */;
    case kMsg: return cmd == MSG_INFO || cmd == MSG_STAT || cmd == 13 /* MSG_STAT_ANY */;
    default: return cmd == SEM_INFO || cmd == SEM_STAT || cmd == 20 /* SEM_STAT_ANY */;
  }
}

}  // namespace

// POSIX message queues (mq_open, mq_unlink): named in a file system of their own, shared
// with the user's other programs, that no path the tracee gives reaches. Decided as the file
// /dev/mqueue/NAME (where it is mounted by convention): reading, or writing when opened for
// writing or creating, and unlinking. Performed here on our copy of the name (and of the
// attributes), so that a thread rewriting them after the check changes nothing.
Response Handler::Impl::mqueue(Ctx& c) {
  Response out;
  std::string name;
  if (!c.t.read_string(c.arg(0), name, 255)) return error(name.size() > 255 ? ENAMETOOLONG : EFAULT);
  if (!valid(c, out)) return out;
  const bool unlink = c.n.nr == SYS_mq_unlink;
  const int oflag = unlink ? 0 : c.iarg(1);
  std::string path = "/dev/mqueue/" + name;
  policy::Request req;
  req.category = Category::file;
  req.op = unlink || (oflag & (O_WRONLY | O_RDWR | O_CREAT)) ? Op::write : Op::read;
  req.path = path;
  req.lexical_path = path;
  if (!judge(c, req, name, out)) return out;
  if (unlink) return value(::syscall(SYS_mq_unlink, name.c_str()) == 0 ? 0 : -errno);
  const mode_t mode = static_cast<mode_t>(c.arg(2)) & 07777 & ~umask_of(c);
  struct mq_attr attr {};
  const bool with_attr = (oflag & O_CREAT) && c.arg(3);
  if (with_attr && !c.t.read(c.arg(3), &attr, sizeof attr)) return error(EFAULT);
  if (!c.t.can_inject_fd()) {
    // ptrace: the kernel runs it on our copies, in the page the tracee cannot write.
    Response res = cont();
    Redirect& rd = res.redirect;
    rd.nr = SYS_mq_open;
    rd.blob.assign(name.c_str(), name.size() + 1);
    rd.blob.resize((rd.blob.size() + 7) & ~std::size_t{7});
    std::size_t at = rd.blob.size();
    rd.blob.append(reinterpret_cast<const char*>(&attr), sizeof attr);
    rd.args = {0, static_cast<std::uint64_t>(static_cast<unsigned>(oflag)), mode,
               with_attr ? at : 0, 0, 0};
    rd.in_blob = with_attr ? (1u << 0) | (1u << 3) : (1u << 0);
    return res;
  }
  long fd = ::syscall(SYS_mq_open, name.c_str(), oflag | O_CLOEXEC, mode, with_attr ? &attr : nullptr);
  if (fd < 0) return error(errno);
  Response res;
  res.kind = Response::Kind::inject_fd;
  res.fd.reset(static_cast<int>(fd));
  res.cloexec = oflag & O_CLOEXEC;
  res.fd_not_opath = true;
  return res;
}

Response Handler::Impl::ipc(Ctx& c) {
  Response out;
  policy::Request req;
  req.category = Category::process;
  req.op = Op::other;
  int kind = -1, id = -1, cmd = -1;
  switch (c.n.nr) {
    case SYS_shmget: case SYS_msgget: case SYS_semget: {
      kind = c.n.nr == SYS_shmget ? kShm : c.n.nr == SYS_msgget ? kMsg : kSem;
      const auto key = static_cast<key_t>(c.arg(0));
      const int flags = c.iarg(kind == kMsg ? 1 : 2);
      const std::uint64_t extra = kind == kMsg ? 0 : c.arg(1);
      auto& mine = ipc_ids[kind];
      if (key == IPC_PRIVATE) {
        long rc = get(kind, key, extra, flags);
        if (rc >= 0) mine.insert(static_cast<int>(rc));
        return value(rc);
      }
      // A key names an object for everyone: the session's own when it made it now (the
      // exclusive create succeeds) or before; another program's is refused below.
      if (flags & IPC_CREAT) {
        long rc = get(kind, key, extra, flags | IPC_EXCL);
        if (rc >= 0) {
          mine.insert(static_cast<int>(rc));
          return value(rc);
        }
        if (rc != -EEXIST || (flags & IPC_EXCL)) return value(rc);
      }
      long rc = get(kind, key, extra, flags & ~(IPC_CREAT | IPC_EXCL));
      if (rc < 0) return value(rc);
      id = static_cast<int>(rc);
      if (mine.count(id)) return value(rc);
      addr_text = std::string(kNames[kind]) + ":key:" + std::to_string(key);
      return local(c, req, false, EACCES, addr_text, out) ? value(rc) : std::move(out);
    }
    case SYS_shmat: kind = kShm, id = c.iarg(0); break;
    case SYS_shmctl: kind = kShm, id = c.iarg(0), cmd = c.iarg(1); break;
    case SYS_msgsnd: case SYS_msgrcv: kind = kMsg, id = c.iarg(0); break;
    case SYS_msgctl: kind = kMsg, id = c.iarg(0), cmd = c.iarg(1); break;
    case SYS_semop: case SYS_semtimedop: kind = kSem, id = c.iarg(0); break;
    case SYS_semctl: kind = kSem, id = c.iarg(0), cmd = c.iarg(2); break;
    default: return error(ENOSYS);
  }
  if (cmd >= 0 && ctl_metadata(kind, cmd)) return cont();
  if (ipc_ids[kind].count(id)) {
    if (cmd >= 0 && (cmd & ~0x100) == IPC_RMID) ipc_ids[kind].erase(id);
    return cont();
  }
  // Not made by the session (an id is a register: nothing to read, nothing to race).
  addr_text = std::string(kNames[kind]) + ":" + std::to_string(id);
  return local(c, req, false, EACCES, addr_text, out) ? cont() : std::move(out);
}

}  // namespace guardian::decode
