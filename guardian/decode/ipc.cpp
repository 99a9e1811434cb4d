// System V IPC (shared memory, message queues, semaphores): the objects live outside any
// file system, in a table the user's other programs share, and are reached by number. A
// session may use the objects it made, never another program's: attaching another's
// segment reads and writes that program's memory, receiving from its queue takes its
// messages. The get calls are performed here, so we know which numbers the session made.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>

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
