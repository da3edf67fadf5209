# frozen_string_literal: true

require "sidekiq"

module UcrawlerNative
  # Sidekiq job for a batch of ids: `SidekiqWorker.perform_async("Site", ids, { "depth" => 0 })`,
  # or `Site.where(...).crawl_later(via: :sidekiq, ids_per_job: 500)`. Arguments are JSON (String
  # keys). All jobs of a Sidekiq process share one engine per distinct options (Registry), so its
  # threads share one connection pool and one global `concurrency` limit. Sidekiq retries a job
  # that raises (25 times with backoff by default; `sidekiq_options retry:` in a subclass to
  # change it); a retry crawls its whole batch again, which is safe (see JobRunner).
  class SidekiqWorker
    include Sidekiq::Worker
    sidekiq_options queue: "default"

    def perform(model_name, ids, options = {})
      JobRunner.perform(model_name, ids, options,
                        { job: self.class.name, jid: jid, queue: self.class.get_sidekiq_options["queue"] })
    end
  end
end
