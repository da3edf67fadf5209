# frozen_string_literal: true

# One crawl.ucrawler_native event seen in the Sidekiq process (app_boot.rb subscribes).
class CrawlEvent < ApplicationRecord
end
