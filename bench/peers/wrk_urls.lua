-- wrk script for bench/run: each thread cycles through the site's paths (one per line in the
-- file given after `--`), each from its own offset, so wrk requests the same URLs the crawlers
-- fetch. Usage: wrk -s wrk_urls.lua -c 64 -t 2 -d 10s http://127.0.0.1:PORT -- PATHS
local paths = {}
local i = 0
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  i = ((id or 0) * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
