# frozen_string_literal: true

require "active_job"

module UcrawlerNative
  # ActiveJob for a batch of ids: `CrawlJob.perform_later("Site", ids, { "depth" => 0 })`, or
  # `Site.where(...).crawl_later(ids_per_job: 500)`. See JobRunner for the options, error handling
  # and idempotency. ActiveJob does not retry by default: subclass and add `retry_on` (a retry
  # crawls the whole batch again, which is safe), or set the queue with `queue_as`.
  class CrawlJob < ActiveJob::Base
    queue_as :default

    def perform(model_name, ids, options = {})
      JobRunner.perform(model_name, ids, options,
                        { job: self.class.name, job_id: job_id, queue: queue_name, executions: executions })
    end
  end
end
