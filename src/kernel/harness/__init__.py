"""trio-present kernel harness: runs the code of one slide on a real trio runtime.

The presenter starts a Python interpreter ahead of time (a warm "spare") with a short
bootstrap as ``python -c`` (bootstrap.py); the bootstrap reads this package's modules from a
pipe and imports ``trio_present_harness.__main__``, which imports trio, says ``ready``, waits
for one ``run`` command, runs the slide, reports everything it sees as JSON events and exits.
Each interpreter runs exactly once: nothing a demo leaves behind (threads, sockets,
half-cancelled tasks) can leak into the next slide.

The modules are meant to be read by a speaker whose demo just did something surprising.  One
module per concern, each opened by its own docstring:

    state       -- what several parts share: the lock, the run's flags and clock
    protocol    -- the two pipes, events out (fd 3) and commands in (fd 4)
    capture     -- print() becomes ``out`` events, tagged with the printing task
    tree        -- a trio Instrument that names tasks like the call in the source
    compat      -- every use of trio's private API, each with a fallback that degrades
    patches     -- the only places where trio is changed (small, documented)
    tracebacks  -- errors are shown with slide frames only
    execute     -- set-up blocks, the slide's blocks, main(), stopping, ``done``
    __main__    -- start-up: SIGINT, import trio, patches, then execute.main()

The contract with the presenter is docs/protocol.md.  Fields added here beyond it (the
presenter ignores unknown fields and events) are listed in protocol.py's docstring.  The
layout, the bootstrap and compat are described in README.md next to these files.
"""
